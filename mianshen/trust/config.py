"""Every setting of the trust package, from the one settings object (mianshen/settings.py).

seal_key / seal_key_file: the SM4 key that encrypts the departments' SM2 private keys at rest
(cases/banking.py reads and makes it, as for bank accounts, but under its own name).
public_url: the public address printed in QR codes (the verification page is `<base>/verify/<code>`).
seal_years: how long a seal key is valid before the worker rotates it.
"""

from __future__ import annotations

from mianshen.settings import current as settings

SEAL_KEY_ENV = "MIANSHEN_SEAL_KEY"

# The platform's own key (it signs 信用承诺 on the enterprise's confirmation and seals archives).
PLATFORM = "免申即享平台"


def verify_base() -> str:
    return (settings().public_url or "http://127.0.0.1:8000").rstrip("/")


def seal_years() -> int:
    return settings().seal_years


def pdf_font() -> str | None:
    """A TrueType font chosen by the deployment instead of the one shipped in the package."""
    font = settings().pdf_font
    return str(font) if font else None
