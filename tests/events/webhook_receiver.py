"""A real webhook receiver for the tests: an HTTP server on a free 127.0.0.1 port, in a thread.

It verifies every request with the snippet published in docs/webhooks.md (run as-is), records
what it received, and answers as the test scripts it: a status code per request, or silence
until the sender gives up (a time-out). Imported by the test modules of this folder.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

DOCS: Final = Path(__file__).parents[2] / "docs" / "webhooks.md"
_SNIPPET = re.compile(r"<!-- receiver-snippet[^>]*-->\s*```python\n(.*?)```", re.DOTALL)
SILENT: Final = -1
"""A scripted answer: say nothing until the sender times out."""


def documented_verifier() -> Callable[..., bool]:
    """`verify_sellerpay_signature` exactly as docs/webhooks.md publishes it."""
    match = _SNIPPET.search(DOCS.read_text(encoding="utf-8"))
    assert match, "docs/webhooks.md lost its receiver snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOCS), "exec"), namespace)
    verifier: Callable[..., bool] = namespace["verify_sellerpay_signature"]
    return verifier


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and whether its signature verified."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """The receiver's state: its URL, secrets, script of answers and what it received."""

    url: str
    secret: str = ""
    now: Callable[[], datetime] | None = None  # the sender's clock, for the replay check
    answers: list[int] = field(default_factory=list)  # consumed in order; then `default`
    default: int = 200
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default

    def record(self, received: Received) -> None:
        with self.lock:
            self.received.append(received)

    def event_ids(self) -> list[str]:
        with self.lock:
            return [r.headers["sellerpay-event-id"] for r in self.received]


def _handler(receiver: Receiver, verify: Callable[..., bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("Sellerpay-Signature", "")
            now = receiver.now().timestamp() if receiver.now else None
            verified = verify(receiver.secret, header, body, now=now)
            answer = receiver.next_answer()
            receiver.record(
                Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    verified=verified,
                    answered=answer,
                )
            )
            if answer == SILENT:
                receiver.release.wait(10)
                return
            reply = b'{"ok": true}' if 200 <= answer < 300 else b"receiver says no"
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads what was received instead."""

    return Handler


@contextmanager
def running_receiver(path: str = "/hooks/sellerpay") -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (a free port), stopped when the block ends."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver, documented_verifier()))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-home"
