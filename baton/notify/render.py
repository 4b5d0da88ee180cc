"""The words of a message, in the recipient's language: subject, text, HTML, the short form
for SMS and robots, and the named values registered SMS templates take."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.workdays import add_working_days
from baton.handover.models import ExitCase, HandoverTask
from baton.notify.models import ReminderRule
from baton.notify.planner import ACTIVE_CASE_STATES, OPEN_TASK_STATES

DIGEST_SOON_DAYS = 3
DIGEST_LINES = 20


@dataclass
class Content:
    subject: str
    text: str
    html: str
    short: str
    params: dict[str, str]
    path: str
    attachments: tuple[tuple[str, bytes, str], ...] = ()

    @property
    def link(self) -> str:
        return settings.BATON_PUBLIC_URL + self.path


@contextmanager
def language(code: str) -> Iterator[None]:
    with translation.override(code or settings.LANGUAGE_CODE):
        yield


def _lines(
    tasks: list[HandoverTask], today: dt.date | None = None, *, with_leaver: bool = False
) -> list[dict[str, Any]]:
    return [
        {
            "title": t.title,
            "due": t.due_date.isoformat(),
            "state": t.get_state_display(),
            "overdue": today is not None and t.due_date < today,
            "leaver": t.case.employee.name if with_leaver else "",
        }
        for t in tasks
    ]


def _text(greeting: str, intro: str, lines: list[dict[str, Any]], link: str, more: int) -> str:
    body = [greeting, "", intro, ""]
    for line in lines:
        who = f"{line['leaver']} · " if line.get("leaver") else ""
        body.append(f"• {who}{line['title']} — {line['due']} ({line['state']})")
    if more:
        body.append(_("… and %(count)s more.") % {"count": more})
    body += ["", link, "", _("— Baton (this message was sent automatically)")]
    return "\n".join(body)


def reminder(
    rule: ReminderRule,
    case: ExitCase,
    tasks: list[HandoverTask],
    user: Any,
    *,
    escalation: bool,
) -> Content:
    leaver = case.employee.name
    count = len(tasks)
    due = min((t.due_date for t in tasks), default=case.last_working_day)
    if escalation:
        subject = _(
            "Escalation: %(leaver)s's handover has %(count)s item(s) overdue by "
            "%(days)s working days or more"
        ) % {"leaver": leaver, "count": count, "days": rule.offset}
        intro = _(
            "These handover items are still open. The unfinished-items report is attached "
            "(and on the case page)."
        )
    elif rule.offset >= 1:
        subject = _("Overdue handover items for %(leaver)s: %(count)s (due %(due)s)") % {
            "leaver": leaver,
            "count": count,
            "due": due.isoformat(),
        }
        intro = _("These handover items are past their due date:")
    else:
        subject = _("Handover items for %(leaver)s due %(due)s: %(count)s") % {
            "leaver": leaver,
            "count": count,
            "due": due.isoformat(),
        }
        intro = _("These handover items are due soon:")
    if count == 1:
        path = reverse("handover:task", args=[tasks[0].pk])
    else:
        path = reverse("handover:case", args=[case.pk])
    link = settings.BATON_PUBLIC_URL + path
    name = getattr(user, "display_name", "") or str(user)
    greeting = _("Hello %(name)s,") % {"name": name}
    lines = _lines(tasks)
    ctx = {
        "greeting": greeting,
        "intro": intro,
        "lines": lines,
        "link": link,
        "subject": subject,
        "more": 0,
    }
    attachments: tuple[tuple[str, bytes, str], ...] = ()
    if escalation:
        attachments = (_report_pdf(case, user),)
    return Content(
        subject=subject,
        text=_text(greeting, intro, lines, link, 0),
        html=render_to_string("notify/email/message.html", ctx),
        short=subject,
        params={
            "name": name,
            "leaver": leaver,
            "count": str(count),
            "due": due.isoformat(),
        },
        path=path,
        attachments=attachments,
    )


def _report_pdf(case: ExitCase, user: Any) -> tuple[str, bytes, str]:
    from baton.handover import report

    data = report.build(case, user=user)
    return (f"handover-report-{case.pk}.pdf", report.to_pdf(data), "application/pdf")


def digest(user: Any, today: dt.date) -> Content | None:
    """One summary of the open items in the exits the user oversees (as manager, department
    head or HRBP): overdue and due within three working days. None when there is nothing."""
    soon = add_working_days(today, DIGEST_SOON_DAYS)
    tasks = HandoverTask.objects.filter(
        authz.case_q(user, Perm.CASE_APPROVE, "case__"),
        case__state__in=ACTIVE_CASE_STATES,
        state__in=OPEN_TASK_STATES,
        due_date__lte=soon,
    )
    overdue = tasks.filter(due_date__lt=today).count()
    due_soon = tasks.filter(due_date__gte=today).count()
    if not overdue and not due_soon:
        return None
    shown = list(tasks.select_related("case__employee").order_by("due_date", "id")[:DIGEST_LINES])
    subject = _("Handover digest %(date)s: %(overdue)s overdue, %(soon)s due soon") % {
        "date": today.isoformat(),
        "overdue": overdue,
        "soon": due_soon,
    }
    name = getattr(user, "display_name", "") or str(user)
    greeting = _("Hello %(name)s,") % {"name": name}
    intro = _("Open handover items in the exits you oversee:")
    path = reverse("handover:board") + "?due=overdue"
    link = settings.BATON_PUBLIC_URL + path
    lines = _lines(shown, today, with_leaver=True)
    more = overdue + due_soon - len(shown)
    ctx = {
        "greeting": greeting,
        "intro": intro,
        "lines": lines,
        "link": link,
        "subject": subject,
        "more": more,
    }
    return Content(
        subject=subject,
        text=_text(greeting, intro, lines, link, more),
        html=render_to_string("notify/email/message.html", ctx),
        short=subject,
        params={
            "name": name,
            "overdue": str(overdue),
            "soon": str(due_soon),
            "date": today.isoformat(),
        },
        path=path,
    )


def test_message(user: Any) -> Content:
    name = getattr(user, "display_name", "") or str(user)
    subject = _("Baton test message")
    text = _("Hello %(name)s, this is a test message from Baton. The channel works.") % {
        "name": name
    }
    path = reverse("notify:centre")
    return Content(
        subject=subject,
        text=text,
        html=render_to_string(
            "notify/email/message.html",
            {"greeting": text, "lines": [], "subject": subject, "link": "", "intro": ""},
        ),
        short=subject,
        params={"name": name, "code": "0000"},
        path=path,
    )
