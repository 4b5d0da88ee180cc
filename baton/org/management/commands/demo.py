"""`baton demo [--employees N] [--seed S]`: load the demo group into an empty database.
`baton demo logins` prints the demo logins."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from baton.org import demo
from baton.org.models import Group


class Command(BaseCommand):
    help = "Load the demo group (deterministic by seed), or print its logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("what", nargs="?", choices=["load", "logins"], default="load")
        parser.add_argument("--employees", type=int, default=600)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (successfully) if a group already exists.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["what"] == "logins":
            rows = demo.logins()
            if not rows:
                raise CommandError("No demo data: run `baton demo` first.")
            self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD})")
            for username, _pw, label in rows:
                self.stdout.write(f"  {username:<14} {label}")
            from baton.notify.demo import suggested_now

            self.stdout.write(
                "Reminders: `baton reminders run --now "
                f"{suggested_now()}` sends what is due then (in-app, and email to the local "
                "mail catcher: `baton mailcatcher --list`)."
            )
            from baton.integrations.demo import revocation_moment

            moment = revocation_moment()
            if moment:
                self.stdout.write(
                    "Integrations: `baton standins story` pulls the salesperson's customers, "
                    "reassigns them (letters to the mail catcher), deactivates the departing "
                    f"engineer's accounts (due {moment}) and delivers the webhooks; or "
                    f"`baton revocations run --now {moment}`."
                )
            return
        if Group.objects.exists():
            if opts["if_empty"]:
                self.stdout.write("Demo data already loaded.")
                return
            raise CommandError(
                "The database already has a group; the demo loads into an empty one."
            )
        if opts["employees"] < 20:
            raise CommandError("--employees must be at least 20.")
        started = time.perf_counter()
        log = lambda m: self.stdout.write(f"  {m}")  # noqa: E731
        built = demo.build(opts["employees"], opts["seed"], log=log)
        from baton.handover import demo as handover_demo
        from baton.integrations import demo as integrations_demo

        # Connected systems first: the showcase's approvals plan revocations and pulls.
        integrations_demo.setup(log=log)
        handover_demo.showcase(log=log)
        from baton.compliance import demo as compliance_demo

        compliance_demo.showcase(log=log)
        from baton.notify import demo as notify_demo

        notify_demo.setup(log=log)
        if opts["employees"] >= 5000:
            handover_demo.bulk_cases(opts["employees"] // 10, seed=opts["seed"], log=log)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo group '{built.group.name}' loaded: {built.employees} employees in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )
