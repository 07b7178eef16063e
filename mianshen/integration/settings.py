"""Every environment variable the integration package reads, in one place (read when called, so a
test or a restarted worker sees the current value).

- MIANSHEN_WEBHOOK_REPLAY_SECONDS  how old a signed timestamp may be before a receiver refuses it (300)
- MIANSHEN_WEBHOOK_MAX_ATTEMPTS    tries before a delivery goes to the dead-letter list (8)
- MIANSHEN_WEBHOOK_BACKOFF_SECONDS first wait after a failure; doubles each time (30)
- MIANSHEN_WEBHOOK_BACKOFF_CAP_SECONDS  longest wait between tries (3600)
- MIANSHEN_WEBHOOK_TIMEOUT_SECONDS how long one post may take (10)
- MIANSHEN_WEBHOOK_ROTATION_HOURS  how long the previous secret stays valid after a rotation (24)
- MIANSHEN_API_RATE_PER_MINUTE     inbound API calls per key per minute (120)
- MIANSHEN_PUBLIC_URL              the platform's address as enterprises reach it, for SMS links
- MIANSHEN_LINK_DAYS               how many days an SMS link stays valid (30)
- MIANSHEN_OIDC_ISSUER, MIANSHEN_OIDC_CLIENT_ID, MIANSHEN_OIDC_CLIENT_SECRET: an enterprise identity
  provider (统一身份认证 / 电子营业执照) beside USCC + SMS code; unset: no such sign-in
- MIANSHEN_OIDC_USCC_CLAIM         the ID token claim carrying the 统一社会信用代码 ("uscc")
- MIANSHEN_OIDC_LABEL              what the sign-in button calls the provider ("统一身份认证")
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from mianshen.errors import InputError


def _number(name: str, default: float, minimum: float = 0) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise InputError(f"环境变量 {name} “{text}”应为不小于 {minimum:g} 的数")
    return value


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
    timeout = _number("MIANSHEN_WEBHOOK_TIMEOUT_SECONDS", 10, 0.1)
    return DeliverySettings(
        max_attempts=int(_number("MIANSHEN_WEBHOOK_MAX_ATTEMPTS", 8, 1)),
        base=dt.timedelta(seconds=_number("MIANSHEN_WEBHOOK_BACKOFF_SECONDS", 30, 0)),
        cap=dt.timedelta(seconds=_number("MIANSHEN_WEBHOOK_BACKOFF_CAP_SECONDS", 3600, 0)),
        timeout=timeout,
        lease=dt.timedelta(seconds=max(60.0, timeout * 6)),  # a `sending` claim older than this: the worker died
    )


def replay_window() -> dt.timedelta:
    return dt.timedelta(seconds=_number("MIANSHEN_WEBHOOK_REPLAY_SECONDS", 300, 1))


def rotation_grace() -> dt.timedelta:
    return dt.timedelta(hours=_number("MIANSHEN_WEBHOOK_ROTATION_HOURS", 24, 0))


def api_rate_per_minute() -> int:
    return int(_number("MIANSHEN_API_RATE_PER_MINUTE", 120, 1))


def public_url() -> str:
    """Where SMS links point; without it a link is a path, which the portal still understands."""
    return os.environ.get("MIANSHEN_PUBLIC_URL", "").strip().rstrip("/")


def link_days() -> int:
    return int(_number("MIANSHEN_LINK_DAYS", 30, 1))


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    uscc_claim: str
    label: str


def oidc() -> OidcProvider | None:
    env = os.environ
    issuer, client = env.get("MIANSHEN_OIDC_ISSUER", "").strip().rstrip("/"), env.get("MIANSHEN_OIDC_CLIENT_ID", "")
    if not issuer or not client:
        return None
    return OidcProvider(
        issuer,
        client.strip(),
        env.get("MIANSHEN_OIDC_CLIENT_SECRET", "").strip(),
        env.get("MIANSHEN_OIDC_USCC_CLAIM", "").strip() or "uscc",
        env.get("MIANSHEN_OIDC_LABEL", "").strip() or "统一身份认证",
    )


def oidc_label() -> str:
    """For the sign-in page: the provider's name, or "" when none is configured."""
    found = oidc()
    return found.label if found else ""
