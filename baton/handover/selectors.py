"""Reads of the handover domain that need more than one scoped queryset: the checklist list
with its draft-vs-published state, who may propose changes to which checklist, the knowledge
map a user may browse, and the progress board. Every function here is scoped to the user."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from baton.access import authz
from baton.access.authz import Perm
from baton.handover.actions.knowledge import knowledge_visible_to
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    CaseState,
    ChangeRequestState,
    ChecklistTemplate,
    ExitCase,
    HandoverTask,
    KnowledgeItem,
    TaskState,
    TemplateChangeRequest,
    TemplateItem,
    TemplateVersion,
)
from baton.handover.rules import (  # noqa: F401 — re-exported for the views
    applicable_templates,
    can_manage_template,
    can_propose,
    own_employee,
    self_only,
)
from baton.handover.templates_logic import item_dict
from baton.org.models import Department, Position

# ---------------------------------------------------------------- checklist templates


@dataclass
class DraftDiff:
    """How a template's draft (its effective items now) differs from its latest version."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class TemplateRow:
    template: ChecklistTemplate
    latest: TemplateVersion | None
    items: int
    diff: DraftDiff
    pending: int = 0


def _plain(value: Any) -> Any:
    """The value as a version stores it (a JSON round trip), so drafts compare equal."""
    return json.loads(json.dumps(value, default=str))


def diff_items(
    draft: Iterable[Mapping[str, Any]], published: Iterable[Mapping[str, Any]]
) -> DraftDiff:
    new = {d["key"]: _plain(dict(d)) for d in draft}
    old = {d["key"]: _plain(dict(d)) for d in published}
    return DraftDiff(
        added=sorted(set(new) - set(old)),
        changed=sorted(k for k in set(new) & set(old) if new[k] != old[k]),
        removed=sorted(set(old) - set(new)),
    )


def _effective_bulk(
    templates: dict[int, ChecklistTemplate], items_of: Mapping[int, list[TemplateItem]]
) -> dict[int, list[dict[str, Any]]]:
    """`templates_logic.effective_items` for many templates from rows already loaded."""
    out: dict[int, list[dict[str, Any]]] = {}
    for pk, template in templates.items():
        chain: list[int] = []
        node: int | None = pk
        while node is not None and node not in chain and node in templates:
            chain.append(node)
            node = templates[node].parent_id
        items: dict[str, dict[str, Any]] = {}
        for level in reversed(chain):
            for it in items_of.get(level, []):
                if it.removed:
                    items.pop(it.key, None)
                else:
                    items[it.key] = item_dict(it)
        out[template.pk] = sorted(items.values(), key=lambda d: (d["sort"], d["key"]))
    return out


def latest_versions(template_ids: Iterable[int] | None = None) -> dict[int, TemplateVersion]:
    newest = TemplateVersion.objects.filter(template_id=OuterRef("template_id")).order_by("-number")
    qs = TemplateVersion.objects.filter(number=Subquery(newest.values("number")[:1]))
    if template_ids is not None:
        qs = qs.filter(template_id__in=list(template_ids))
    return {v.template_id: v for v in qs}


def template_rows(user: Any) -> list[TemplateRow]:
    """The checklists the user may see, each with its latest version and how the draft differs
    from it. A fixed number of queries whatever the number of templates."""
    qs = authz.visible_to(user, Perm.TEMPLATE_VIEW, ChecklistTemplate.objects.all())
    every = {
        t.pk: t
        for t in ChecklistTemplate.objects.select_related(
            "parent", "position", "position_family", "department", "business_unit", "legal_entity"
        )
    }
    shown_ids = set(qs.values_list("pk", flat=True))
    limit = templates_for_self(user)
    if limit is not None:
        shown_ids &= limit
    items_of: dict[int, list[TemplateItem]] = defaultdict(list)
    for it in TemplateItem.objects.order_by("sort", "id"):
        items_of[it.template_id].append(it)
    effective = _effective_bulk(every, items_of)
    latest = latest_versions()
    pending: dict[int, int] = {}
    if authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        pending = dict(
            TemplateChangeRequest.objects.filter(state=ChangeRequestState.PENDING)
            .values_list("template_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    rows = []
    for pk in sorted(shown_ids, key=lambda i: (every[i].name, i)):
        version = latest.get(pk)
        rows.append(
            TemplateRow(
                template=every[pk],
                latest=version,
                items=len(effective[pk]),
                diff=diff_items(effective[pk], version.items if version else []),
                pending=pending.get(pk, 0),
            )
        )
    return rows


def templates_for_self(user: Any) -> set[int] | None:
    """For a user who holds the checklist permission only over themselves (an employee), the
    templates that apply to their own position; None when the user is not limited so."""
    if authz.has_perm(user, Perm.TEMPLATE_MANAGE) or not self_only(user, Perm.TEMPLATE_VIEW):
        return None
    employee = own_employee(user)
    return applicable_templates(employee) if employee is not None else set()


def proposals_for(user: Any, template: ChecklistTemplate) -> QuerySet[TemplateChangeRequest]:
    """Change requests on this template the user may see: all of them for those who decide,
    otherwise their own."""
    qs = template.change_requests.select_related("proposed_by", "decided_by").order_by(
        "-created_at", "-id"
    )
    if authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        return qs
    return qs.filter(proposed_by=user)


# ---------------------------------------------------------------- knowledge map


def knowledge_for(user: Any, params: Mapping[str, str] | None = None) -> QuerySet[KnowledgeItem]:
    """Knowledge map entries the user may read (the rule is `knowledge_visible_to`: all for
    HR, the own position's for everyone, the subtree's positions for a department head),
    filtered by ?position= &category= &q= (title or notes)."""
    params = params or {}
    qs = knowledge_visible_to(user)
    if (pos := params.get("position", "")).isdigit():
        qs = qs.filter(position_id=int(pos))
    if category := params.get("category", "").strip():
        qs = qs.filter(category=category)
    if q := params.get("q", "").strip():
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return qs.select_related("position", "contributed_by", "document").order_by(
        "position__title", "category", "title", "id"
    )


def knowledge_positions(user: Any) -> QuerySet[Position]:
    """The positions whose map has entries the user may read (for the position filter)."""
    return Position.objects.filter(
        pk__in=knowledge_for(user).order_by().values("position_id")
    ).order_by("title", "pk")


# ---------------------------------------------------------------- progress board

DUE_WINDOWS = ("7", "30", "overdue")


# Spelled out (rather than "not accepted or waived") so PostgreSQL can read the overdue items
# from the (state, due_date) index instead of scanning every task ever created.
OPEN_TASK_STATES = tuple(s for s in TaskState.values if s not in DONE_TASK_STATES)


def overdue_tasks(today: dt.date) -> QuerySet[HandoverTask]:
    """Items not accepted or waived whose due date has passed."""
    return HandoverTask.objects.filter(state__in=OPEN_TASK_STATES, due_date__lt=today)


def board_base(user: Any, params: Mapping[str, str]) -> QuerySet[ExitCase]:
    """Cases visible to the user narrowed by where they are and who leaves: ?business_unit=
    &department= (subtree) &q= (name or employee number)."""
    qs = authz.visible_to(user, Perm.CASE_VIEW, ExitCase.objects.all())
    if (bu := params.get("business_unit", "")).isdigit():
        qs = qs.filter(business_unit_id=int(bu))
    if (dept := params.get("department", "")).isdigit():
        path = Department.objects.filter(pk=int(dept)).values_list("path", flat=True).first()
        qs = qs.filter(department__path__startswith=path or "-")
    if q := params.get("q", "").strip():
        qs = qs.filter(Q(employee__name__contains=q) | Q(employee__employee_number__istartswith=q))
    return qs


def board_filter(
    qs: QuerySet[ExitCase], params: Mapping[str, str], today: dt.date
) -> QuerySet[ExitCase]:
    """Narrow by ?state= ("open" by default, "all", or a state) and ?due= (the last working
    day within 7 or 30 days, or "overdue": an open item past its due date)."""
    state = params.get("state") or "open"
    if state == "open":
        qs = qs.filter(state__in=OPEN_CASE_STATES)
    elif state in CaseState.values:
        qs = qs.filter(state=state)
    due = params.get("due", "")
    if due in ("7", "30"):
        qs = qs.filter(last_working_day__range=(today, today + dt.timedelta(days=int(due))))
    elif due == "overdue":
        qs = qs.filter(pk__in=overdue_tasks(today).values("case_id"))
    return qs


def board_summary(qs: QuerySet[ExitCase], today: dt.date) -> dict[str, int]:
    """Headline counts for the cases in `qs`, in one query."""
    open_q = Q(state__in=OPEN_CASE_STATES)
    soon = today + dt.timedelta(days=7)
    result: dict[str, int] = qs.order_by().aggregate(
        open=Count("pk", filter=open_q),
        leaving_soon=Count("pk", filter=open_q & Q(last_working_day__range=(today, soon))),
        overdue=Count("pk", filter=open_q & Q(pk__in=overdue_tasks(today).values("case_id"))),
        cleared=Count("pk", filter=Q(state=CaseState.CLEARED)),
    )
    return result


def board_order(qs: QuerySet[ExitCase]) -> QuerySet[ExitCase]:
    """Soonest last working day first."""
    return qs.order_by("last_working_day", "pk")


def cases_by_ids(ids: Iterable[int]) -> list[ExitCase]:
    """The page's cases with what a row shows, in the order of `ids`. The page itself is
    chosen as bare ids first, so the sort never drags the joined columns of every case."""
    wanted = list(ids)
    found = ExitCase.objects.select_related("employee", "department", "business_unit").in_bulk(
        wanted
    )
    return [found[pk] for pk in wanted if pk in found]


@dataclass
class TaskCounts:
    done: int = 0
    pending: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.done + self.pending


def task_counts(case_ids: Iterable[int], today: dt.date | None = None) -> dict[int, TaskCounts]:
    """Done / pending / overdue items per case, for the given cases only, in one query."""
    ids = list(case_ids)
    if not ids:
        return {}
    today = today or timezone.localdate()
    done = Q(state__in=DONE_TASK_STATES)
    rows = (
        HandoverTask.objects.filter(case_id__in=ids)
        .values("case_id")
        .annotate(
            done=Count("pk", filter=done),
            pending=Count("pk", filter=~done),
            overdue=Count("pk", filter=~done & Q(due_date__lt=today)),
        )
        .order_by()
    )
    counts = {r["case_id"]: TaskCounts(r["done"], r["pending"], r["overdue"]) for r in rows}
    return {pk: counts.get(pk, TaskCounts()) for pk in ids}


# Filters whose total the summary already counted: (state, due) → summary key.
SUMMARY_TOTALS = {
    ("open", ""): "open",
    ("open", "7"): "leaving_soon",
    ("open", "overdue"): "overdue",
    (CaseState.CLEARED.value, ""): "cleared",
}


class CountedPaginator(Paginator):
    """A paginator told its total, when a query already counted it."""

    def __init__(self, object_list: Any, per_page: int, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count


@dataclass
class Board:
    page: Page[Any]
    rows: list[tuple[ExitCase, TaskCounts]]
    summary: dict[str, int]
    state: str
    due: str


def board(
    user: Any, params: Mapping[str, str], *, per_page: int = 50, today: dt.date | None = None
) -> Board:
    """One page of the progress board, in a fixed number of queries at any size: the summary
    (one aggregate, which is also the page total for the usual filters), the page's ids, its
    cases, and their item counts (one grouped query over those cases only)."""
    today = today or timezone.localdate()
    base = board_base(user, params)
    summary = board_summary(base, today)
    state = params.get("state") or "open"
    due = params.get("due", "")
    due = due if due in DUE_WINDOWS else ""
    known = SUMMARY_TOTALS.get((state, due))
    ids = board_order(board_filter(base, params, today)).values_list("pk", flat=True)
    paginator = CountedPaginator(ids, per_page, summary[known] if known else None)
    page = paginator.get_page(params.get("page"))
    cases = cases_by_ids(page.object_list)
    counts = task_counts([c.pk for c in cases], today)
    return Board(page, [(c, counts[c.pk]) for c in cases], summary, state, due)
