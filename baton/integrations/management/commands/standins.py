"""`baton standins serve` runs the demo's local stand-in systems (SCIM identity provider,
OA, CRM, WeCom, a webhook subscriber) on 127.0.0.1; `make demo` starts it.

`baton standins story` walks the integrations on the demo while they run: the salesperson's
customers are pulled from the CRM and WeCom, reassigned round robin over the sales team,
written back and told by letter (see `baton mailcatcher --list`); the departing engineer's
accounts are deactivated on the SCIM server at the end of the last working day; the webhook
subscriber receives the events, signatures verified.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import zoneinfo
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from baton.integrations import demo
from baton.integrations.actions import customers as customer_actions
from baton.integrations.actions import letters as letter_actions


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Command(BaseCommand):
    help = "Run the demo's local stand-in systems, or walk the integrations story on the demo."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("what", choices=["serve", "story"])

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["what"] == "serve":
            try:
                demo.serve(say=lambda m: self.stdout.write(m))
            except RuntimeError as exc:
                raise CommandError(str(exc)) from None
            return
        down = [name for name, port in demo.PORTS.items() if not _listening(port)]
        if down:
            raise CommandError(
                "The demo systems are not running (" + ", ".join(down) + "): start "
                "`baton standins serve` (make demo does)."
            )
        result = story(lambda m: self.stdout.write(m))
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))


def story(say: Any) -> dict[str, Any]:
    """The integrations on the demo, step by step (the stand-ins must be running)."""
    from baton.access.models import User
    from baton.integrations import customers, webhooks
    from baton.integrations.actions import business, revocations
    from baton.integrations.models import BusinessItem, Revocation

    out: dict[str, Any] = {}
    say("1. Business data: pulling the leavers' records from the CRM and WeCom …")
    out["pulls"] = business.run_pulls()
    sales_case = (
        BusinessItem.objects.filter(kind="customer", case__state__in=["approved", "handover"])
        .values_list("case", flat=True)
        .order_by("case")
        .first()
    )
    if sales_case is not None:
        from baton.handover.models import ExitCase

        case = ExitCase.objects.select_related("employee", "business_unit").get(pk=sales_case)
        hr = User.objects.get(username="hrbp.cloud" if case.business_unit.code == "C" else "admin")
        team = customers.team_of_department(hr, case.department_id)
        say(
            f"2. Customers of {case.employee.name}: reassigned round robin over "
            f"{len(team)} colleagues, written back, letters sent …"
        )
        result = customer_actions.reassign_customers(
            case, acting_user=hr, strategy="round_robin", team=team
        )
        out["reassigned"] = len(result.moved)
        out["write_back"] = customer_actions.write_back(case.pk).as_dict()
        out["letters"] = letter_actions.send_letters(case.pk, acting_user=hr).as_dict()
        # WeCom (离职继承) takes the contacts over once the salesperson has left.
        after = dt.datetime.combine(
            case.last_working_day + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC
        )
        say(f"   … and after the last working day ({case.last_working_day}), WeCom's contacts")
        out["write_back_after_departure"] = customer_actions.write_back(
            case.pk, now=after
        ).as_dict()
    rev = demo.departing_engineer()
    if rev is not None:
        zone = zoneinfo.ZoneInfo(rev.employee.work_city.time_zone)
        moment = rev.due_at + dt.timedelta(minutes=5)
        say(
            f"3. Access: {rev.employee.name}'s last working day ends "
            f"({moment.astimezone(zone):%Y-%m-%d %H:%M %Z}); revoking what is due …"
        )
        out["revocations"] = revocations.run_due(max(moment, timezone.now()))
        rows = Revocation.objects.filter(case=rev.case).select_related("system")
        out["engineer"] = {r.system.name: r.state for r in rows}
    say("4. Events: delivering webhooks to the local subscriber …")
    out["webhooks"] = dict(webhooks.deliver())
    return out
