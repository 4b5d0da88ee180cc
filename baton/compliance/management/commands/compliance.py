"""`baton compliance load-rules` (re)loads the shipped rule packs; `baton compliance
earliest-last-day TYPE NOTICE_DATE [--jurisdiction CN] [--hire-date …] [--probation-end …]
[--pay-in-lieu]` prints the earliest lawful last day and its basis."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None


class Command(BaseCommand):
    help = "Lawful exits: load the rule packs; compute the earliest lawful last day."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("load-rules", help="Load the shipped rule packs (idempotent).")
        e = sub.add_parser("earliest-last-day", help="The earliest lawful last day.")
        e.add_argument("termination_type")
        e.add_argument("notice_date", type=_day)
        e.add_argument("--jurisdiction", default="CN")
        e.add_argument("--hire-date", type=_day)
        e.add_argument("--probation-end", type=_day)
        e.add_argument("--contract-end", type=_day)
        e.add_argument("--pay-in-lieu", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["sub"] == "load-rules":
            from baton.compliance.actions_packs import load_packs

            counts = load_packs()
            self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
            return
        from baton.compliance import terminations as T

        if opts["termination_type"] not in T.TYPES:
            raise CommandError("unknown type; one of: " + ", ".join(T.TYPES))
        n = T.notice_for(
            opts["termination_type"],
            opts["notice_date"],
            jurisdiction=opts["jurisdiction"],
            hire_date=opts["hire_date"],
            probation_end=opts["probation_end"],
            contract_end=opts["contract_end"],
            pay_in_lieu=opts["pay_in_lieu"],
        )
        self.stdout.write(
            f"{n.earliest.isoformat()}  ({n.description}; {', '.join(n.legal_basis)}; "
            f"confidence {n.confidence})"
        )
