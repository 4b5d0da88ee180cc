"""A local webhook receiver (127.0.0.1) for tests, the demo and the benchmark: it records
every request, can verify Standard Webhooks signatures with the `standardwebhooks` library
(the receiving side's own implementation, not ours), and can be told to fail."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str | None = None  # verify with this secret when given
    status: int = 204  # the answer; set to 503 to play "down"
    received: list[Received] = field(default_factory=list)
    count: int = 0
    record: bool = True
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)
    port: int = 0  # 0: chosen by the OS (the demo uses a fixed one)
    # Called with each request received (the demo prints them).
    on_receive: Any = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a killed worker): like any HTTP server, an
                    # incomplete request is no request; nothing is recorded or answered.
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = None
                if receiver.secret:
                    from standardwebhooks import Webhook

                    try:
                        Webhook(receiver.secret).verify(body, headers)
                        verified = True
                    except Exception:
                        verified = False
                if receiver.delay:
                    import time

                    time.sleep(receiver.delay)
                status = receiver.status
                with receiver.lock:
                    receiver.count += 1
                    if receiver.record and 200 <= status < 300:
                        receiver.received.append(Received(headers, body, verified))
                if receiver.on_receive is not None:
                    receiver.on_receive(Received(headers, body, verified))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/baton"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json for r in self.received]
