"""Short links in SMS: `/s/<token>` opens one enterprise's case, until a day, and nothing else.

The token is stateless — case id, last valid day and a MAC, 19 characters — so sending a message
writes nothing and a link cannot be altered to open another case: the MAC (HMAC-SM3, 64 bits) covers
the case, the day and the enterprise's 统一社会信用代码, and is checked against the case as stored.
Its key is derived from the platform's SM4 key, so no new secret has to be kept. A link only leads
to the sign-in page (code prefilled): the case itself is shown after the enterprise signs in.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import struct

from cryptography.hazmat.primitives import hashes, hmac

from mianshen.cases.banking import platform_key as sm4_key
from mianshen.clock import today as clock_today
from mianshen.integration import settings

EPOCH = dt.date(2020, 1, 1)
MAC_BYTES = 8


def _mac(case_id: int, last_day: int, uscc: str) -> bytes:
    derive = hmac.HMAC(sm4_key(), hashes.SM3())
    derive.update(b"mianshen sms link v1")
    signer = hmac.HMAC(derive.finalize(), hashes.SM3())
    signer.update(struct.pack(">IH", case_id, last_day) + uscc.encode())
    return signer.finalize()[:MAC_BYTES]


def token_for(case_id: int, uscc: str, today: dt.date | None = None) -> str:
    last_day = ((today or clock_today()) - EPOCH).days + settings.link_days()
    raw = struct.pack(">IH", case_id, last_day) + _mac(case_id, last_day, uscc)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def case_link(case_id: int, uscc: str) -> str:
    """What an SMS about the case carries."""
    return f"{settings.public_url()}/s/{token_for(case_id, uscc)}"


def read_token(token: str) -> tuple[int, dt.date] | None:
    """(case id, last valid day) of a well-formed token — not yet checked against the case."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 6 + MAC_BYTES:
        return None
    case_id, last_day = struct.unpack(">IH", raw[:6])
    return case_id, EPOCH + dt.timedelta(days=last_day)


def genuine(token: str, uscc: str) -> bool:
    """Whether the token was made for this case's enterprise (its case id is read by `read_token`)."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    case_id, last_day = struct.unpack(">IH", raw[:6])
    return secrets.compare_digest(raw[6:], _mac(case_id, last_day, uscc))
