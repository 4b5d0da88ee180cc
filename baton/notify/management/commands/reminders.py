"""`baton reminders run [--now 2026-12-01T09:00] [--enqueue]`: plan the reminders due at that
moment (time travel for operators and tests) and send what is ready — in this process, or
through the workers with --enqueue. `baton reminders log` prints the latest deliveries."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from baton.notify import actions
from baton.notify.models import Delivery
from baton.notify.tasks import send_deliveries


def parse_now(raw: str | None) -> dt.datetime:
    if not raw:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"--now {raw!r} is not an ISO date-time (e.g. 2026-12-01T09:00 or "
            "2026-12-01T09:00+08:00)."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return value


class Command(BaseCommand):
    help = "Run the reminder sweep now or at a given moment; show the delivery log."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="op", required=True)
        run = sub.add_parser("run", help="Plan and send the reminders due at --now.")
        run.add_argument("--now", help="ISO date-time; default: the current time.")
        run.add_argument(
            "--enqueue", action="store_true", help="Hand the sending to `baton worker`."
        )
        log = sub.add_parser("log", help="The latest deliveries.")
        log.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["op"] == "run":
            now = parse_now(opts.get("now"))
            hand_off = send_deliveries.enqueue if opts["enqueue"] else None
            result = actions.run_reminders(now, hand_off=hand_off)
            self.stdout.write(json.dumps({"now": now.isoformat(), **result}, ensure_ascii=False))
            return
        rows = Delivery.objects.order_by("-id").values_list(
            "id", "kind", "family", "status", "address", "subject", "error"
        )[: opts["limit"]]
        for row in rows:
            self.stdout.write(" | ".join(str(v) for v in row))
