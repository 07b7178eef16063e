"""A department system's webhook receiver on 127.0.0.1, for the tests (no tests here).

It checks every post's signature and timestamp as docs/integration.md tells receivers to, and keeps
the events it accepted by key (a repeat is answered 200 and not kept twice), so a test can ask
"did every event arrive once, genuinely signed?". It can be stopped and started on the same port,
to stand for a system down for maintenance.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mianshen.integration.signing import verify


class Receiver:
    def __init__(self, secret: str, window: dt.timedelta = dt.timedelta(minutes=5)) -> None:
        self.secrets = [secret]
        self.window = window
        self.accepted: dict[str, dict[str, Any]] = {}  # event key → envelope
        self.posts = 0
        self.repeats = 0
        self.refused: list[str] = []
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/mianshen"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.take(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def take(self, headers: dict[str, str], body: bytes) -> int:
        now = dt.datetime.now(dt.UTC)
        reasons = [verify(s, headers, body, now, self.window) for s in self.secrets]
        with self.lock:
            self.posts += 1
            if all(r is not None for r in reasons):
                self.refused.append(str(reasons[0]))
                return 401
            envelope = json.loads(body)
            if envelope["id"] in self.accepted:
                self.repeats += 1
            else:
                self.accepted[envelope["id"]] = envelope
        return 200

    def kinds(self) -> list[tuple[str, str | None]]:
        """(type, transition) of the accepted events, in the order they happened."""
        events = sorted(self.accepted.values(), key=lambda e: (e["sequence"], e["id"]))
        return [(e["type"], e["data"].get("transition") or e["data"].get("action")) for e in events]
