"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives: for tests, the demo
and development. Optional authentication (to test a wrong password), an optional hold that
keeps a message waiting in DATA (to kill a worker mid-send), and an optional folder to save
.eml files in."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.catcher.hold is not None:
            self.catcher.holding.set()
            # Blocks this connection only (the catcher thread's loop keeps serving others
            # poorly, which is fine for the one test that uses it).
            self.catcher.hold.wait(60)
            if self.catcher.reject_held:
                return "451 Requested action aborted: local error in processing"
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.catcher.lock:
            self.catcher.messages.append(msg)
            n = len(self.catcher.messages)
        if self.catcher.folder is not None:
            self.catcher.folder.mkdir(parents=True, exist_ok=True)
            (self.catcher.folder / f"{n:05d}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(
        self,
        port: int = 0,
        *,
        folder: Path | None = None,
        username: str = "",
        password: str = "",
    ) -> None:
        self.port = port
        self.folder = folder
        self.username, self.password = username, password
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.hold: threading.Event | None = None
        self.holding = threading.Event()
        self.reject_held = False
        self._controller: Controller | None = None

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> MailCatcher:
        kwargs: dict[str, Any] = {}
        if self.username:
            kwargs = {
                "authenticator": self._auth,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port or _free_port(), **kwargs
        )
        self._controller.start()
        self.port = self._controller.port
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._controller is not None:
            self._controller.stop()

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
