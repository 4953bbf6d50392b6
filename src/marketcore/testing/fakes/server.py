"""What the local fake providers share: an HTTP server on a free local port in a daemon thread, and
the queue of faults a test arms for the next requests.

Only the plumbing is here. What a request or a fault turns into on the wire (error bodies,
signatures, whether a stall comes before or after the work) is each provider's, in its own fake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self, cast

import attrs


@attrs.frozen
class Answer:
    """What a fake sends back; ``Content-Length`` is added on the way out."""

    status: int
    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)


class ProviderHandler(BaseHTTPRequestHandler):
    """Hands each request to the server's fake, then sends its answer as it is."""

    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: LocalProviderServer = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(self.command, self.path, headers, body)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: each fake keeps its ``requests`` instead."""


class LocalProviderServer:
    """A fake provider on ``127.0.0.1:<free port>`` while started (or inside ``with``).

    Faults wait in ``_faults`` as ``(kind, value)``, one per coming request. A fake's ``handle``
    takes each request's with ``_next_fault``; ``_preempt`` answers the kinds all fakes share
    (``stall``, ``garble``, ``canned``), the fake itself any kind of its own.
    """

    handler: ClassVar[type[BaseHTTPRequestHandler]] = ProviderHandler
    garbled: ClassVar[Answer] = Answer(
        200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"}
    )

    def __init__(self) -> None:
        self._faults: list[tuple[str, Any]] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        name = type(self).__name__
        threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """The answer to one request; ``headers`` are lower-cased."""
        raise NotImplementedError

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """The next requests wait ``seconds`` before being handled (client timeouts)."""
        self._arm("stall", seconds, count)

    def garble_next(self, count: int = 1) -> None:
        """The next answers are 200 with a body that is not JSON (a broken proxy, say)."""
        self._arm("garble", None, count)

    def _arm(self, kind: str, value: Any = None, count: int = 1) -> None:
        with self._lock:
            self._faults.extend([(kind, value)] * count)

    def _next_fault(self) -> tuple[str, Any]:
        """The fault the arriving request meets: ``("", None)`` when none is armed."""
        with self._lock:
            return self._faults.pop(0) if self._faults else ("", None)

    def _preempt(self, kind: str, value: Any) -> Answer | None:
        """The answer a fault gives instead of the provider's: a ``canned`` answer or the garbled
        page. A stall only waits, then the request goes on."""
        if kind == "stall":
            time.sleep(value)
        elif kind == "canned":
            return cast(Answer, value)
        elif kind == "garble":
            return self.garbled
        return None
