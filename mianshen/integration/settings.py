"""The integration package's settings, from the one settings object (mianshen/settings.py, group
系统对接): webhook delivery and replay window, the inbound API rate, SMS links, and an optional
enterprise identity provider (统一身份认证 / 电子营业执照) beside USCC + SMS code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mianshen.settings import current as settings


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int
    base: dt.timedelta
    cap: dt.timedelta
    timeout: float
    lease: dt.timedelta

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait after the `attempts`-th failure: base, 2·base, 4·base … capped (a system down for
        maintenance comes back in hours, not seconds)."""
        return min(self.base * (2 ** max(attempts - 1, 0)), self.cap)


def delivery() -> DeliverySettings:
    s = settings()
    return DeliverySettings(
        max_attempts=s.webhook_max_attempts,
        base=dt.timedelta(seconds=s.webhook_backoff_seconds),
        cap=dt.timedelta(seconds=s.webhook_backoff_cap_seconds),
        timeout=s.webhook_timeout_seconds,
        # a `sending` claim older than this: the worker died
        lease=dt.timedelta(seconds=max(60.0, s.webhook_timeout_seconds * 6)),
    )


def replay_window() -> dt.timedelta:
    return dt.timedelta(seconds=settings().webhook_replay_seconds)


def rotation_grace() -> dt.timedelta:
    return dt.timedelta(hours=settings().webhook_rotation_hours)


def api_rate_per_minute() -> int:
    return settings().api_rate_per_minute


def public_url() -> str:
    """Where SMS links point; without it a link is a path, which the portal still understands."""
    return (settings().public_url or "").strip().rstrip("/")


def link_days() -> int:
    return settings().link_days


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    uscc_claim: str
    label: str


def oidc() -> OidcProvider | None:
    s = settings()
    issuer, client = (s.oidc_issuer or "").strip().rstrip("/"), (s.oidc_client_id or "").strip()
    if not issuer or not client:
        return None
    secret = s.oidc_client_secret.get_secret_value().strip() if s.oidc_client_secret else ""
    return OidcProvider(
        issuer, client, secret, s.oidc_uscc_claim.strip() or "uscc", s.oidc_label.strip() or "统一身份认证"
    )


def oidc_label() -> str:
    """For the sign-in page: the provider's name, or "" when none is configured."""
    found = oidc()
    return found.label if found else ""
