"""`baton import <kind> <file> [--mapping m.json | --saved NAME] [--commit] [--as USER]`:
validate a file (the dry run, with its report) and, with --commit, apply it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from baton.core.errors import ActionError
from baton.imports import actions, report
from baton.imports.cli import Progress, acting_user
from baton.imports.models import BatchStatus, ImportBatch, ImportKind, SavedMapping, Severity

# Problems printed on the terminal; the report (--report) holds them all.
PROBLEMS_PRINTED = 20


def _where(problem: Any) -> str:
    parts = [report.kind_label(problem.kind) if problem.kind else ""]
    if problem.row:
        parts.append(_("row %(row)s") % {"row": problem.row})
    if problem.column:
        parts.append(problem.column)
    if problem.value:
        parts.append(f"“{problem.value}”")
    return " ".join(p for p in parts if p)


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
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            self._run(user, path, opts)
        except PermissionDenied as e:
            raise CommandError(str(e)) from None
        except ActionError as e:
            raise CommandError(
                e.message + "".join(f"\n  {k}: {'; '.join(v)}" for k, v in e.field_errors.items())
            ) from None

    def _mapping(self, user: Any, opts: dict[str, Any]) -> tuple[Any, SavedMapping | None]:
        if opts["mapping"]:
            try:
                spec = json.loads(Path(opts["mapping"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise CommandError(
                    _("The mapping %(path)s cannot be read: %(error)s")
                    % {"path": opts["mapping"], "error": e}
                ) from None
            if not isinstance(spec, dict):
                raise CommandError(_("The mapping is a JSON object."))
            spec.pop("kind", None)
            spec.pop("name", None)
            if opts["save_as"]:
                return None, actions.save_mapping(
                    opts["save_as"], opts["kind"], spec, acting_user=user
                )
            return spec, None
        if opts["saved"]:
            found = SavedMapping.objects.filter(kind=opts["kind"], name=opts["saved"]).first()
            if found is None:
                raise CommandError(
                    _("No saved mapping “%(name)s” for %(kind)s.")
                    % {"name": opts["saved"], "kind": report.kind_label(opts["kind"])}
                )
            return None, found
        return None, None

    def _run(self, user: Any, path: Path, opts: dict[str, Any]) -> None:
        spec, saved = self._mapping(user, opts)
        batch = actions.upload(
            path,
            kind=opts["kind"],
            file_name=path.name,
            acting_user=user,
            mapping=spec,
            saved_mapping=saved,
        )
        self.stderr.write(
            _("Batch #%(id)s: validating %(file)s (%(encoding)s)")
            % {"id": batch.pk, "file": path.name, "encoding": batch.encoding}
        )
        bar = Progress(batch.file_size, opts["quiet"])
        batch = actions.validate(batch, acting_user=user, progress=bar)
        bar.done()
        self._report(batch, opts)
        if batch.status != BatchStatus.VALID:
            raise CommandError(self._refusal(batch, _("Not valid")))
        if not opts["commit"]:
            self.stdout.write(_("Valid. Nothing was written (dry run); add --commit to apply it."))
            return
        self.stderr.write(_("Batch #%(id)s: committing") % {"id": batch.pk})
        bar = Progress(batch.file_size, opts["quiet"])
        batch = actions.commit(batch, acting_user=user, progress=bar)
        bar.done()
        if batch.status != BatchStatus.COMMITTED:
            self._report(batch, opts)
            raise CommandError(self._refusal(batch, _("Not committed")))
        # The last line is for scripts: the batch and its totals as JSON.
        self.stdout.write(
            json.dumps({"batch": batch.pk, "status": batch.status, **batch.counts.get("total", {})})
        )

    def _refusal(self, batch: ImportBatch, verdict: str) -> str:
        """Why nothing was written: the batch's error or its first error, and how many."""
        errors = batch.problems.filter(severity=Severity.ERROR).order_by("id")
        first = errors.first()
        if batch.error:
            reason = batch.error
        elif first is not None:
            where = _where(first)
            reason = f"{where}: {first.message}" if where else first.message
            more = errors.count() - 1
            if more:
                reason += " " + _("(and %(n)s more)") % {"n": f"{more:,}"}
        else:
            reason = batch.get_status_display()
        return _("%(verdict)s; nothing was written: %(reason)s") % {
            "verdict": verdict,
            "reason": reason,
        }

    def _report(self, batch: ImportBatch, opts: dict[str, Any]) -> None:
        if batch.error:
            self.stderr.write(batch.error)
        labels = report.count_labels()
        for kind, numbers in report.count_rows(batch):
            self.stdout.write(
                f"{kind}: "
                + ", ".join(f"{lbl} {n:,}" for lbl, n in zip(labels, numbers, strict=True))
            )
        problems = list(batch.problems.order_by("id")[: PROBLEMS_PRINTED + 1])
        for p in problems[:PROBLEMS_PRINTED]:
            self.stdout.write(f"  {p.get_severity_display()}: {_where(p)}: {p.message}")
        if len(problems) > PROBLEMS_PRINTED:
            more = batch.problems.count() - PROBLEMS_PRINTED
            self.stdout.write("  " + _("… and %(n)s more (see the report)") % {"n": f"{more:,}"})
        if opts.get("report"):
            Path(opts["report"]).write_bytes(report.report_xlsx(batch))
            self.stdout.write(_("Report: %(path)s") % {"path": opts["report"]})
