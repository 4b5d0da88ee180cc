"""`baton export <kind|archive> <target> [--format csv|xlsx] [--as USER]`: what the group owns,
in the shape `baton import` reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from baton.core.errors import ActionError
from baton.imports import exports, report
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
        existed = target.exists()
        try:
            self._export(user, opts["kind"], opts["format"], target)
        except (ActionError, PermissionDenied) as e:
            # Refused (e.g. not allowed to read this kind): leave no half-written file behind.
            if not existed:
                target.unlink(missing_ok=True)
            raise CommandError(e.message if isinstance(e, ActionError) else str(e)) from None

    def _export(self, user: Any, kind: str, fmt: str, target: Path) -> None:
        if kind == "archive":
            manifest = exports.write_archive(user, target)
            for code, entry in manifest["files"].items():
                self.stdout.write(
                    _("%(kind)s: %(rows)s rows")
                    % {"kind": report.kind_label(Path(code).stem), "rows": f"{entry['rows']:,}"}
                )
            self.stdout.write(_("Archive written: %(path)s") % {"path": target})
            return
        if fmt == "xlsx":
            target.write_bytes(exports.xlsx_bytes(kind, user))
            rows = None
        else:
            lines = -1  # the header
            with open(target, "w", encoding="utf-8", newline="") as out:
                for line in exports.csv_lines(kind, user):
                    out.write(line)
                    lines += 1
            rows = max(lines, 0)
        exports.record_export(user, kind, fmt, rows)
        self.stdout.write(
            _("%(kind)s written: %(path)s") % {"kind": report.kind_label(kind), "path": target}
        )
