"""Derived tags of a profile (派生标签): computed from observed fields, never stored as facts.

Placeholder until the reference standards land: subject type from the USCC and enterprise age.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mianshen.profiles.current import StoredProfile


def add_derived(profile: StoredProfile) -> None:
    return None
