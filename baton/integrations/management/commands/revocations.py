"""`baton revocations run [--now 2026-12-31T18:00+08:00]`: run every access revocation (and
account deletion) due at that moment, in this process — time travel for operators, the demo
and tests. `baton revocations list [--state failed]` prints the latest revocations."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from baton.integrations.actions import revocations
from baton.integrations.models import Revocation, RevocationState
from baton.notify.management.commands.reminders import parse_now


class Command(BaseCommand):
    help = "Run the access revocations due now or at a given moment; list revocations."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="op", required=True)
        run = sub.add_parser("run", help="Revoke (and delete) what is due at --now.")
        run.add_argument("--now", help="ISO date-time; default: the current time.")
        show = sub.add_parser("list", help="The latest revocations.")
        show.add_argument("--state", choices=RevocationState.values)
        show.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["op"] == "run":
            now = parse_now(opts.get("now"))
            result = revocations.run_due(now)
            self.stdout.write(json.dumps({"now": now.isoformat(), **result}, ensure_ascii=False))
            return
        qs = Revocation.objects.select_related("system", "employee").order_by("-id")
        if opts.get("state"):
            qs = qs.filter(state=opts["state"])
        for r in qs[: opts["limit"]]:
            self.stdout.write(
                " | ".join(
                    str(v)
                    for v in (
                        r.pk,
                        r.case_id,
                        r.system.name,
                        r.employee.name,
                        r.state,
                        r.due_at.isoformat(),
                        r.attempts,
                        r.login,
                        r.error[:80],
                    )
                )
            )
