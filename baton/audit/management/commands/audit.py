"""`baton audit verify`: walk the hash chain; exit 1 naming the first broken entry."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from baton.audit import trail


class Command(BaseCommand):
    help = "Audit trail tools: `verify` checks the whole hash chain."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="cmd", required=True)
        v = sub.add_parser("verify", help="Verify the hash chain end to end.")
        v.add_argument("--batch", type=int, default=20000)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["cmd"] == "verify":
            started = time.perf_counter()

            def progress(n: int) -> None:
                if opts["verbosity"] > 1:
                    self.stderr.write(f"… {n} entries")

            result = trail.verify(batch=opts["batch"], progress=progress)
            elapsed = time.perf_counter() - started
            rate = result.checked / elapsed if elapsed > 0 else 0.0
            if not result.ok:
                raise CommandError(
                    _(
                        "Audit chain broken at entry #%(id)s: %(reason)s (%(n)s entries before it "
                        "verified)."
                    )
                    % {"id": result.broken_id, "reason": result.reason, "n": result.checked}
                )
            self.stdout.write(
                _("Audit chain intact: %(n)s entries verified in %(s).2f s (%(r).0f entries/s).")
                % {"n": result.checked, "s": elapsed, "r": rate}
            )
