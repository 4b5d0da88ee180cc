"""The unfinished-items report (未完成项报告) of one exit case, as PDF (WeasyPrint) or XLSX
(openpyxl): every item not yet accepted or waived, who holds it, how late it is, and its audited
history. Read-only: building a report changes nothing."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.audit.events import AuditEvent
from baton.audit.export import safe_cell
from baton.audit.models import AuditEntry
from baton.handover.models import DONE_TASK_STATES, ExitCase, HandoverTask, Queue

TASK_SUBJECT = "handover.handovertask"

# Print stylesheet for the PDF. Kept here (not in a served static file): it never reaches a
# browser, and WeasyPrint is given no way to fetch anything.
PDF_CSS = """
@page { size: A4 landscape; margin: 14mm 12mm 20mm;
  @bottom-left { content: element(legal); width: 80%; }
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #5d6778; } }
html { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 9pt; color: #1d2430; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
.sub { color: #5d6778; margin: 0 0 4mm; }
table.facts { border-collapse: collapse; margin-bottom: 5mm; }
table.facts th { text-align: left; color: #5d6778; font-weight: normal;
  padding: 0.6mm 4mm 0.6mm 0; }
table.facts td { padding: 0.6mm 10mm 0.6mm 0; }
table.items { width: 100%; border-collapse: collapse; }
table.items th { text-align: left; font-weight: bold; color: #5d6778;
  border-bottom: 0.6pt solid #5d6778; padding: 1mm 1.2mm; }
table.items td { border-bottom: 0.4pt solid #dde2ea; padding: 1.2mm; vertical-align: top; }
table.items tr { page-break-inside: avoid; }
thead { display: table-header-group; }
.num { text-align: right; }
.w-item { width: 30%; } .w-cat { width: 9%; } .w-person { width: 8%; } .w-date { width: 8%; }
.w-late { width: 6%; } .w-state { width: 8%; } .w-comment { width: 15%; }
td.nowrap { white-space: nowrap; }
.late { color: #b3261e; font-weight: bold; }
ul.history { margin: 0.8mm 0 0; padding-left: 3.5mm; color: #5d6778; font-size: 7.5pt; }
.legal { position: running(legal); font-size: 7.5pt; color: #5d6778; }
.empty { color: #5d6778; padding: 4mm 0; }
"""


@dataclass
class HistoryLine:
    time: dt.datetime
    event: str
    actor: str


@dataclass
class ReportItem:
    task: HandoverTask
    owner: str
    receiver: str
    approver: str
    overdue_days: int
    history: list[HistoryLine] = field(default_factory=list)


@dataclass
class Report:
    case: ExitCase
    items: list[ReportItem]
    generated_at: dt.datetime
    generated_by: str
    today: dt.date

    @property
    def legal_note(self) -> str:
        return legal_note()


def legal_note() -> str:
    return _(
        "Clearance gates only the severance payment. The separation certificate, final wages "
        "and the social-insurance and personnel-file transfer are never held back for the "
        "handover (Labour Contract Law arts. 50 and 89)."
    )


def _queue(code: str) -> str:
    return _("%(queue)s queue") % {"queue": dict(Queue.choices).get(code, code)}


def _owner(task: HandoverTask) -> str:
    if task.owner is not None:
        return task.owner.name
    if task.owner_user is not None:
        return str(task.owner_user)
    return _queue(task.owner_queue) if task.owner_queue else "—"


def _approver(task: HandoverTask) -> str:
    if task.approver is not None:
        return task.approver.name
    if task.approver_user is not None:
        return str(task.approver_user)
    return _queue(task.approver_queue) if task.approver_queue else "—"


def build(case: ExitCase, *, user: Any, today: dt.date | None = None) -> Report:
    """The report data: a fixed number of queries whatever the number of items.

    `case` must have been fetched for the user with CASE_VIEW (`authz.get_for`)."""
    today = today or timezone.localdate()
    tasks = list(
        HandoverTask.objects.filter(case=case)
        .exclude(state__in=DONE_TASK_STATES)
        .select_related("owner", "owner_user", "receiver", "approver", "approver_user")
        .order_by("due_date", "sort", "id")
    )
    history: dict[str, list[HistoryLine]] = {}
    labels = dict(AuditEvent.choices)
    entries = AuditEntry.objects.filter(
        subject_type=TASK_SUBJECT, subject_id__in=[str(t.pk) for t in tasks]
    ).order_by("id")
    for e in entries:
        data = e.data
        history.setdefault(e.subject_id, []).append(
            HistoryLine(
                time=timezone.localtime(e.created_at),
                event=str(labels.get(e.event_type, e.event_type)),
                actor=str(data.get("actor") or "—"),
            )
        )
    items = [
        ReportItem(
            task=t,
            owner=_owner(t),
            receiver=t.receiver.name if t.receiver is not None else "—",
            approver=_approver(t),
            overdue_days=max((today - t.due_date).days, 0),
            history=history.get(str(t.pk), []),
        )
        for t in tasks
    ]
    return Report(
        case=case,
        items=items,
        generated_at=timezone.localtime(),
        generated_by=str(user),
        today=today,
    )


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the report fetches nothing ({url[:40]})")


def to_pdf(report: Report) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string("handover/report_pdf.html", {"r": report, "c": report.case})
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(
        stylesheets=[CSS(string=PDF_CSS)]
    )
    return pdf


def header_rows(report: Report) -> list[tuple[str, str]]:
    c = report.case
    return [
        (_("Leaver"), c.employee.name),
        (_("Employee number"), c.employee.employee_number),
        (_("Department"), c.department.name),
        (_("Legal entity"), c.legal_entity.name),
        (_("Exit type"), c.get_exit_type_display()),
        (_("Last working day"), c.last_working_day.isoformat()),
        (_("Case state"), c.get_state_display()),
        (_("Generated at"), report.generated_at.strftime("%Y-%m-%d %H:%M")),
        (_("Generated by"), report.generated_by),
    ]


def item_header() -> list[str]:
    return [
        _("Item"),
        _("Category"),
        _("Owner"),
        _("Receiver"),
        _("Approver"),
        _("Due date"),
        _("Days overdue"),
        _("State"),
        _("Last comment"),
        _("Blocks clearance"),
        _("History"),
    ]


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Unfinished items")[:31]
    bold = Font(bold=True)
    ws.append([safe_cell(_("Unfinished handover items"))])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in header_rows(report):
        ws.append([safe_cell(label), safe_cell(value)])
    ws.append([])
    ws.append([safe_cell(h) for h in item_header()])
    for cell in ws[ws.max_row]:
        cell.font = bold
    wrap = Alignment(wrap_text=True, vertical="top")
    for it in report.items:
        t = it.task
        history = "\n".join(f"{h.time:%Y-%m-%d %H:%M} {h.event} · {h.actor}" for h in it.history)
        ws.append(
            [
                safe_cell(t.title),
                safe_cell(t.get_category_display()),
                safe_cell(it.owner),
                safe_cell(it.receiver),
                safe_cell(it.approver),
                t.due_date,
                it.overdue_days,
                safe_cell(t.get_state_display()),
                safe_cell(t.last_comment),
                _("Yes") if t.blocks_clearance else _("No"),
                safe_cell(history),
            ]
        )
        for cell in ws[ws.max_row]:
            cell.alignment = wrap
        ws.cell(row=ws.max_row, column=6).number_format = "yyyy-mm-dd"
    if not report.items:
        ws.append([safe_cell(_("Every item is accepted or waived."))])
    ws.append([])
    ws.append([safe_cell(report.legal_note)])
    for col, width in zip("ABCDEFGHIJK", (36, 14, 16, 14, 16, 12, 10, 14, 30, 10, 48), strict=True):
        ws.column_dimensions[col].width = width

    hist = wb.create_sheet(_("History")[:31])
    hist.append([safe_cell(h) for h in (_("Item"), _("Time"), _("Event"), _("Actor"))])
    for cell in hist[1]:
        cell.font = bold
    for it in report.items:
        for h in it.history:
            hist.append(
                [
                    safe_cell(it.task.title),
                    h.time.replace(tzinfo=None),
                    safe_cell(h.event),
                    safe_cell(h.actor),
                ]
            )
            hist.cell(row=hist.max_row, column=2).number_format = "yyyy-mm-dd hh:mm"
    for col, width in zip("ABCD", (36, 18, 28, 20), strict=True):
        hist.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
