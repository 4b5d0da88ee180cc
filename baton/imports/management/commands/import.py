"""`baton import <kind> <file> [--mapping m.json | --saved NAME] [--commit] [--as USER]`:
validate a file (the dry run, with its report) and, with --commit, apply it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from baton.core.errors import ActionError
from baton.imports import actions
from baton.imports.cli import Progress, acting_user
from baton.imports.models import BatchStatus, ImportKind, SavedMapping


class Command(BaseCommand):
    help = "Import a CSV/XLSX file (or a full archive ZIP): validate, and with --commit apply it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=[k.value for k in ImportKind])
        parser.add_argument("file")
        parser.add_argument("--mapping", help="a mapping JSON file")
        parser.add_argument("--saved", help="the name of a saved mapping")
        parser.add_argument("--save-as", help="save --mapping under this name")
        parser.add_argument("--commit", action="store_true", help="apply the file if it is valid")
        parser.add_argument("--as", dest="username", help="the user the import runs as")
        parser.add_argument("--report", help="write the validation report (XLSX) here")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = acting_user(opts["username"])
        path = Path(opts["file"])
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        spec = None
        saved = None
        try:
            if opts["mapping"]:
                spec = json.loads(Path(opts["mapping"]).read_text(encoding="utf-8"))
                spec.pop("kind", None)
                spec.pop("name", None)
                if opts["save_as"]:
                    saved = actions.save_mapping(
                        opts["save_as"], opts["kind"], spec, acting_user=user
                    )
            elif opts["saved"]:
                saved = SavedMapping.objects.filter(kind=opts["kind"], name=opts["saved"]).first()
                if saved is None:
                    raise CommandError(f"No saved mapping {opts['saved']!r} for {opts['kind']}.")
            batch = actions.upload(
                path,
                kind=opts["kind"],
                file_name=path.name,
                acting_user=user,
                mapping=spec if saved is None else None,
                saved_mapping=saved,
            )
            self.stderr.write(f"Batch #{batch.pk}: validating {path.name} ({batch.encoding})")
            bar = Progress(batch.file_size, opts["quiet"])
            batch = actions.validate(batch, acting_user=user, progress=bar)
            bar.done()
            self._report(batch, opts)
            if batch.status != BatchStatus.VALID:
                raise CommandError(
                    f"Not valid ({batch.get_status_display()}); nothing was written."
                )
            if not opts["commit"]:
                self.stdout.write("Valid. Nothing written (dry run); add --commit to apply it.")
                return
            self.stderr.write(f"Batch #{batch.pk}: committing")
            bar = Progress(batch.file_size, opts["quiet"])
            batch = actions.commit(batch, acting_user=user, progress=bar)
            bar.done()
            if batch.status != BatchStatus.COMMITTED:
                self._report(batch, opts)
                raise CommandError(
                    f"Not committed ({batch.get_status_display()}); nothing was written."
                )
            self.stdout.write(
                json.dumps(
                    {"batch": batch.pk, "status": batch.status, **batch.counts.get("total", {})}
                )
            )
        except ActionError as e:
            raise CommandError(
                e.message + "".join(f"\n  {k}: {'; '.join(v)}" for k, v in e.field_errors.items())
            ) from None

    def _report(self, batch: Any, opts: dict[str, Any]) -> None:
        if batch.error:
            self.stderr.write(batch.error)
        for kind, counts in batch.counts.items():
            if kind != "total" or len(batch.counts) > 2:
                self.stdout.write(
                    f"{kind}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
                )
        for p in batch.problems.order_by("id")[:20]:
            where = f"row {p.row}" if p.row else ""
            self.stdout.write(f"  {p.severity}: {p.kind} {where} {p.column}: {p.message}".rstrip())
        more = batch.problems.count() - 20
        if more > 0:
            self.stdout.write(f"  … and {more:,} more (see the report)")
        if opts.get("report"):
            from baton.imports.report import report_xlsx

            Path(opts["report"]).write_bytes(report_xlsx(batch))
            self.stdout.write(f"Report: {opts['report']}")
