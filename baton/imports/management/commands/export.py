"""`baton export <kind|archive> <target> [--format csv|xlsx] [--as USER]`: what the group owns,
in the shape `baton import` reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from baton.imports import exports
from baton.imports.cli import acting_user
from baton.imports.kinds import EXPORTED


class Command(BaseCommand):
    help = "Export one kind (CSV/XLSX) or the full archive (ZIP) that `baton import archive` reads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=["archive", *(k.code for k in EXPORTED)])
        parser.add_argument("target")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--as", dest="username")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = acting_user(opts["username"])
        target = Path(opts["target"])
        if opts["kind"] == "archive":
            manifest = exports.write_archive(user, target)
            self.stdout.write(json.dumps({k: v["rows"] for k, v in manifest["files"].items()}))
            return
        if opts["format"] == "xlsx":
            target.write_bytes(exports.xlsx_bytes(opts["kind"], user))
        else:
            with open(target, "w", encoding="utf-8", newline="") as out:
                for line in exports.csv_lines(opts["kind"], user):
                    out.write(line)
        exports.record_export(user, opts["kind"], opts["format"])
        self.stdout.write(str(target))
