"""Every setting of the trust package, read from the environment in this one place.

SEAL_KEY_ENV / SEAL_KEY_FILE_ENV: the SM4 key that encrypts the departments' SM2 private keys at rest
(cases/banking.py reads and makes it, as for bank accounts, but under its own name).
VERIFY_BASE_ENV: the public address printed in QR codes (the verification page is `<base>/verify/<code>`).
SEAL_YEARS_ENV: how long a seal key is valid before the worker rotates it.
"""

from __future__ import annotations

import os

SEAL_KEY_ENV = "MIANSHEN_SEAL_KEY"
SEAL_KEY_FILE_ENV = "MIANSHEN_SEAL_KEY_FILE"
VERIFY_BASE_ENV = "MIANSHEN_PUBLIC_URL"
SEAL_YEARS_ENV = "MIANSHEN_SEAL_YEARS"
PDF_FONT_ENV = "MIANSHEN_PDF_FONT"

# The platform's own key (it signs 信用承诺 on the enterprise's confirmation and seals archives).
PLATFORM = "免申即享平台"


def verify_base() -> str:
    return os.environ.get(VERIFY_BASE_ENV, "http://127.0.0.1:8000").rstrip("/")


def seal_years() -> int:
    raw = os.environ.get(SEAL_YEARS_ENV, "2")
    try:
        years = int(raw)
    except ValueError as exc:
        raise ValueError(f"环境变量 {SEAL_YEARS_ENV} 应为整数年数，实际为“{raw}”") from exc
    if not 1 <= years <= 10:
        raise ValueError(f"环境变量 {SEAL_YEARS_ENV} 应在 1–10 年之间，实际为 {years}")
    return years


def pdf_font() -> str | None:
    """A TrueType font chosen by the deployment instead of the one shipped in the package."""
    return os.environ.get(PDF_FONT_ENV) or None
