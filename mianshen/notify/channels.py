"""Channel adapters: console/file (the embedded default), an HTTP SMS gateway, and in-portal messages.

Every adapter gets the outbox row (`Delivery`) and its rendered text and either returns or raises
`ChannelError`; `permanent=True` means retrying cannot help (a 4xx from the gateway, no recipient),
so the sender gives up at once instead of burning attempts.

The portal and file channels are local: they run inside the transaction that marks the row sent
(the portal insert commits with the mark, exactly once). The SMS gateway is remote and cannot be
rolled back; see sender.py for how it is claimed before the call.
"""

from __future__ import annotations

import json
import string
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection

from mianshen.clock import now as platform_now
from mianshen.errors import os_reason
from mianshen.notify.templates import SECRETS, Rendered, mask_uscc, redact, render
from mianshen.settings import Settings
from mianshen.settings import current as settings
from mianshen.store.paths import var_dir
from mianshen.store.schema import portal_messages

ENV_SMS_TEMPLATE = "MIANSHEN_SMS_TEMPLATE"
# Field names differ between gateways (mobile/phone, content/text, requestId …), so the request
# body is a template; $-placeholders are replaced by JSON-escaped values.
DEFAULT_SMS_TEMPLATE = '{"phone": "$phone", "uscc": "$uscc", "text": "$text", "idempotency_key": "$key"}'


class ChannelError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a channel sees it."""

    id: int
    uscc: str
    case_id: int | None
    step: str
    channel: str
    template: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        # Stable across retries of the same row: a gateway that deduplicates on it sends once.
        return f"mianshen-outbox-{self.id}"


class Channel(Protocol):
    name: str
    remote: bool  # True: a network call — claimed and committed first, marked sent after (sender.py)

    def send(self, conn: Connection, item: Delivery, message: Rendered) -> None: ...


@dataclass
class ConsoleChannel:
    """One line per message to a file (default outbox.log in the var directory) or stdout ("-"): the embedded default.

    A login code never goes into the line (M11: the log is a file anyone with the server's disk can
    read): the line shows `******`. Without an SMS gateway (a demo, a developer's machine) the person
    signing in still needs the code, so the full text is also written to the terminal this process
    runs in — only when its stderr is a terminal, or MIANSHEN_DEMO_SHOW_CODES=1 says so; a service's
    stderr captured into a journal gets nothing."""

    path: str = field(default_factory=lambda: outbox_log())
    label: str = "console"
    name: str = "console"
    remote: bool = False

    def send(self, conn: Connection, item: Delivery, message: Rendered) -> None:
        now = platform_now().isoformat(timespec="seconds")
        shown = message
        if any(k in item.payload for k in SECRETS):
            shown = render(item.template, redact(item.payload), item.uscc)
            if _terminal():
                sys.stderr.write(f"【仅本机演示，未配置短信网关】{mask_uscc(item.uscc)}：{message.text}\n")
                sys.stderr.flush()
        line = f"{now}\t#{item.id}\t{self.label}\t{mask_uscc(item.uscc)}\t{item.step}\t{shown.title}\t{shown.text}\n"
        if self.path == "-":
            sys.stdout.write(line)
            sys.stdout.flush()
            return
        target = Path(self.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:
            raise ChannelError(f"无法写入通知日志 {target}：{os_reason(exc)}") from exc


def _terminal() -> bool:
    return settings().demo_show_codes or sys.stderr.isatty()


@dataclass
class PortalChannel:
    """A row in portal_messages, shown to the enterprise (or department) after login."""

    name: str = "portal"
    remote: bool = False

    def send(self, conn: Connection, item: Delivery, message: Rendered) -> None:
        conn.execute(
            portal_messages.insert().values(
                uscc=item.uscc,
                case_id=item.case_id,
                title=message.title,
                body=message.text,
                created_at=platform_now(),
            )
        )


@dataclass
class HttpSmsChannel:
    """JSON POST to an SMS gateway; the outbox id is sent as the idempotency key (body and header)."""

    url: str
    template: str = DEFAULT_SMS_TEMPLATE
    timeout: float = 10.0
    name: str = "sms"
    remote: bool = True

    def body(self, item: Delivery, message: Rendered, phone: str | None = None) -> bytes:
        values = {
            "phone": phone if phone is not None else str(item.payload.get("phone") or ""),
            "uscc": item.uscc,
            "text": message.text,
            "key": item.idempotency_key,
            "title": message.title,
        }
        escaped = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in values.items()}
        try:
            text = string.Template(self.template).substitute(escaped)
            json.loads(text)  # a template that does not yield JSON is a configuration error
        except (KeyError, ValueError) as exc:
            raise ChannelError(f"短信请求模板（{ENV_SMS_TEMPLATE}）无效：{exc}", permanent=True) from exc
        return text.encode("utf-8")

    def send(self, conn: Connection, item: Delivery, message: Rendered) -> None:
        phone = str(item.payload.get("phone") or "") or contact_phone(conn, item.uscc)
        request = urllib.request.Request(
            self.url,
            data=self.body(item, message, phone),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": item.idempotency_key},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            # 4xx: the gateway refused this request as such (bad number, bad template) — except 408/429,
            # which say "later"; 5xx and network errors are worth retrying.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise ChannelError(f"短信网关返回 HTTP {exc.code}", permanent=permanent) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(f"短信网关不可达：{reason}") from exc


def outbox_log(s: Settings | None = None) -> str:
    """Where console and (without a gateway) SMS messages are written: MIANSHEN_OUTBOX_LOG, else the var directory."""
    s = s or settings()
    return str(s.outbox_log or var_dir() / "outbox.log")


def channels_from_env(s: Settings | None = None) -> dict[str, Channel]:
    """The adapters per outbox channel name, from the environment.

    Without MIANSHEN_SMS_URL, "sms" rows go to the console/file log marked "sms→console", so the
    embedded installation works end to end without any gateway.
    """
    s = s or settings()
    log = outbox_log(s)
    url = s.sms_url
    sms: Channel
    if url:
        sms = HttpSmsChannel(url, s.sms_template or DEFAULT_SMS_TEMPLATE, s.sms_timeout)
    else:
        sms = ConsoleChannel(log, label="sms→console", name="sms")
    return {"console": ConsoleChannel(log), "sms": sms, "portal": PortalChannel()}


def contact_phone(conn: Connection, uscc: str) -> str:
    """The enterprise's registered contact (decrypted only here, for the gateway); "" when none."""
    from sqlalchemy import select

    from mianshen.cases.banking import BankingError, decrypt_account
    from mianshen.store.schema import enterprise_contacts

    stored = conn.execute(select(enterprise_contacts.c.phone).where(enterprise_contacts.c.uscc == uscc)).scalar()
    if not stored:
        return ""
    try:
        return decrypt_account(stored)
    except BankingError:
        return ""  # the gateway then looks the number up by USCC, as without a registered contact
