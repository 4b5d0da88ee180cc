"""`baton mailcatcher`: a local SMTP server (aiosmtpd) for the demo and development that keeps
every message it receives as an .eml file (127.0.0.1 only). `baton mailcatcher --list` shows
what arrived."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from baton.notify.testing.smtp import MailCatcher


class Command(BaseCommand):
    help = "Run a local SMTP server that stores messages under BATON_DATA_DIR/mail."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--dir", default=str(Path(settings.DATA_DIR) / "mail"))
        parser.add_argument("--list", action="store_true", help="List the stored messages.")

    def handle(self, *args: Any, **opts: Any) -> None:
        folder = Path(opts["dir"])
        if opts["list"]:
            for path in sorted(folder.glob("*.eml")):
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                self.stdout.write(f"{path.name}  {msg['To']}  {msg['Subject']}")
            return
        with MailCatcher(port=opts["port"], folder=folder) as catcher:
            self.stdout.write(f"mail catcher on 127.0.0.1:{catcher.port}, saving to {folder}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
