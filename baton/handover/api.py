"""/api/handover: checklist templates, exit cases, handover tasks, the document library,
external confirmations and the position knowledge map.

Every read is scoped through `baton.access.authz`; every change is one call to
`baton.handover.actions`, which checks what the acting user may do and audits it. The two
confirmation endpoints are public (no account): the one-time token in the path is the key.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import TokenScope
from baton.core.api_crud import Page, paginate
from baton.core.errors import Conflict, InvalidInput
from baton.core.http import AuthedRequest
from baton.core.middleware import client_ip
from baton.handover import actions
from baton.handover.models import (
    DONE_TASK_STATES,
    ApproverRole,
    CaseState,
    Category,
    ChangeRequestState,
    ChecklistTemplate,
    Document,
    EvidenceKind,
    ExitCase,
    ExitType,
    ExternalConfirmation,
    HandoverTask,
    KnowledgeItem,
    OwnerRole,
    ReceiverRule,
    TaskState,
    TemplateChangeRequest,
)
from baton.handover.templates_logic import effective_items
from baton.org.models import Department, Employee

router = Router(tags=["handover"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]]


# ---------------------------------------------------------------- helpers


def _reader(request: AuthedRequest) -> Any:
    """The user a read acts as. An API token reads handover data only with handover:read."""
    _require_token_scope(request, TokenScope.HANDOVER_READ)
    return request.user


def _writer(request: AuthedRequest) -> Any:
    """The user a change acts as. An API token changes handover data only with handover:write:
    the actions let a leaver, a task owner or an approver act because of who they are, not
    through a permission a token's scopes would narrow, so the scope is checked here."""
    _require_token_scope(request, TokenScope.HANDOVER_WRITE)
    return request.user


def _require_token_scope(request: HttpRequest, scope: str) -> None:
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(_("You do not have permission to do this."))


def _page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


def _dump(payload: Schema, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the client sent, minus explicit nulls on fields that cannot be empty."""
    data = payload.model_dump(mode="json", exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}


def _case(user: Any, case_id: int) -> ExitCase:
    return authz.get_for(user, Perm.CASE_VIEW, _case_qs(), pk=case_id)


def _task(user: Any, task_id: int) -> HandoverTask:
    return authz.get_for(user, Perm.CASE_VIEW, _task_qs(), pk=task_id)


def _template(user: Any, template_id: int, perm: Perm = Perm.TEMPLATE_VIEW) -> ChecklistTemplate:
    return authz.get_for(user, perm, ChecklistTemplate, pk=template_id)


# ---------------------------------------------------------------- templates


class TemplateOut(Schema):
    id: int
    name: str
    parent_id: int | None
    position_id: int | None
    position_family_id: int | None
    department_id: int | None
    business_unit_id: int | None
    legal_entity_id: int | None
    exit_type: str
    is_active: bool
    latest_version: int | None = None  # annotated by _template_qs
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplatePage(Page):
    items: list[TemplateOut]


class ItemOut(Schema):
    """A checklist item as it applies (inheritance applied, or frozen in a version)."""

    key: str
    title: str
    category: str
    owner_role: str
    owner_user_id: int | None = None
    receiver_rule: str
    approver_role: str
    approver_user_id: int | None = None
    due_offset: int
    acceptance_criteria: str
    evidence_kind: str
    sub_items: list[str]
    blocks_clearance: bool
    reusable: bool = False
    sort: int


class DraftItemOut(ItemOut):
    """One of the template's own items (its draft), including those that remove an inherited
    item."""

    id: int
    removed: bool


class VersionOut(Schema):
    id: int
    number: int
    published_at: dt.datetime
    published_by_id: int | None
    note: str
    items: list[ItemOut]


class TemplateDetail(TemplateOut):
    own_items: list[DraftItemOut]
    effective_items: list[ItemOut]
    versions: list[VersionOut]


class TemplateIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    parent_id: int | None = None
    position_id: int | None = None
    position_family_id: int | None = None
    department_id: int | None = None
    business_unit_id: int | None = None
    legal_entity_id: int | None = None
    exit_type: ExitType | Literal[""] = ""
    is_active: bool = True


class TemplatePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = None
    position_id: int | None = None
    position_family_id: int | None = None
    department_id: int | None = None
    business_unit_id: int | None = None
    legal_entity_id: int | None = None
    exit_type: ExitType | Literal[""] | None = None
    is_active: bool | None = None


TEMPLATE_NULLABLE = frozenset(
    {
        "parent_id",
        "position_id",
        "position_family_id",
        "department_id",
        "business_unit_id",
        "legal_entity_id",
    }
)


class ItemIn(Schema):
    """The fields of a checklist item to set; what is left out keeps its value."""

    title: str | None = Field(default=None, max_length=200)
    category: Category | None = None
    owner_role: OwnerRole | None = None
    owner_user_id: int | None = None
    receiver_rule: ReceiverRule | None = None
    approver_role: ApproverRole | None = None
    approver_user_id: int | None = None
    due_offset: int | None = None
    acceptance_criteria: str | None = None
    evidence_kind: EvidenceKind | None = None
    sub_items: list[str] | None = None
    blocks_clearance: bool | None = None
    reusable: bool | None = None
    sort: int | None = Field(default=None, ge=0, le=32767)
    removed: bool | None = None


ITEM_NULLABLE = frozenset({"owner_user_id", "approver_user_id"})
ITEM_KEY = r"^[A-Za-z0-9_-]{1,64}$"


class PublishIn(Schema):
    note: str = Field(default="", max_length=500)


class ChangeProposalIn(ItemIn):
    key: str = Field(..., pattern=ITEM_KEY)
    reason: str = Field(default="", max_length=500)


class ChangeRequestOut(Schema):
    id: int
    template_id: int
    proposed_by_id: int
    item: dict[str, Any]
    reason: str
    state: ChangeRequestState
    decided_by_id: int | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class ChangeRequestPage(Page):
    items: list[ChangeRequestOut]


class DecisionIn(Schema):
    approve: bool


def _template_qs() -> QuerySet[ChecklistTemplate]:
    return ChecklistTemplate.objects.annotate(latest_version=Max("versions__number"))


@router.get("/templates", response=TemplatePage, operation_id="list_templates")
def list_templates(
    request: AuthedRequest,
    q: str = "",
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Checklist templates (not personal data: whoever may see templates sees all of them)."""
    user = _reader(request)
    authz.require(user, Perm.TEMPLATE_VIEW)
    qs = authz.visible_to(user, Perm.TEMPLATE_VIEW, _template_qs()).order_by("name", "id")
    if q.strip():
        qs = qs.filter(name__icontains=q.strip())
    if active is not None:
        qs = qs.filter(is_active=active)
    return _page(qs, limit, offset)


@router.get("/templates/{int:template_id}", response=TemplateDetail, operation_id="get_template")
def get_template(request: AuthedRequest, template_id: int) -> dict[str, Any]:
    """A template with its own draft items, its effective items (inheritance applied, as the
    next publication would freeze them) and its published versions."""
    user = _reader(request)
    return _template_detail(authz.get_for(user, Perm.TEMPLATE_VIEW, _template_qs(), pk=template_id))


def _template_detail(template: ChecklistTemplate) -> dict[str, Any]:
    if not hasattr(template, "latest_version"):
        template = _template_qs().get(pk=template.pk)
    return {
        **TemplateOut.from_orm(template).model_dump(),
        "own_items": list(template.items.order_by("sort", "id")),
        "effective_items": effective_items(template),
        "versions": list(template.versions.order_by("-number")),
    }


@router.post("/templates", response={201: TemplateDetail}, operation_id="create_template")
def create_template(request: AuthedRequest, payload: TemplateIn) -> Any:
    user = _writer(request)
    template = actions.create_template(payload.model_dump(mode="json"), acting_user=user)
    return Status(201, _template_detail(template))


@router.patch(
    "/templates/{int:template_id}", response=TemplateDetail, operation_id="update_template"
)
def update_template(request: AuthedRequest, template_id: int, payload: TemplatePatch) -> Any:
    user = _writer(request)
    template = _template(user, template_id, Perm.TEMPLATE_MANAGE)
    actions.update_template(template, _dump(payload, TEMPLATE_NULLABLE), acting_user=user)
    return _template_detail(template)


@router.put(
    "/templates/{int:template_id}/items/{key}",
    response=DraftItemOut,
    operation_id="save_template_item",
)
def save_template_item(request: AuthedRequest, template_id: int, key: str, payload: ItemIn) -> Any:
    """Add or change one item of the template's draft (takes effect when published). A
    `removed: true` item drops the inherited item with this key."""
    user = _writer(request)
    if not re.match(ITEM_KEY, key):
        raise InvalidInput.field("key", _("Say which item (its key) the change is about."))
    template = _template(user, template_id, Perm.TEMPLATE_MANAGE)
    return actions.save_template_item(
        template, key, _dump(payload, ITEM_NULLABLE), acting_user=user
    )


@router.post(
    "/templates/{int:template_id}/publish",
    response={201: VersionOut},
    operation_id="publish_template",
)
def publish_template(
    request: AuthedRequest, template_id: int, payload: PublishIn | None = None
) -> Any:
    """Freeze the effective items as the template's next version; new cases use it, running
    cases keep theirs."""
    body = payload or PublishIn()
    user = _writer(request)
    template = _template(user, template_id, Perm.TEMPLATE_MANAGE)
    return Status(201, actions.publish_template(template, acting_user=user, note=body.note))


@router.post(
    "/templates/{int:template_id}/changes",
    response={201: ChangeRequestOut},
    operation_id="propose_template_change",
)
def propose_template_change(
    request: AuthedRequest, template_id: int, payload: ChangeProposalIn
) -> Any:
    """Propose a change to one item; it applies (and is published) only when HR approves."""
    user = _writer(request)
    template = _template(user, template_id)
    data = _dump(payload, ITEM_NULLABLE)
    reason = data.pop("reason", "")
    data["key"] = payload.key
    return Status(
        201, actions.propose_template_change(template, data, acting_user=user, reason=reason)
    )


@router.get("/template-changes", response=ChangeRequestPage, operation_id="list_template_changes")
def list_template_changes(
    request: AuthedRequest,
    template: int | None = None,
    state: ChangeRequestState | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Proposed checklist changes: all of them for those who manage templates, otherwise the
    user's own proposals."""
    user = _reader(request)
    authz.require(user, Perm.TEMPLATE_VIEW)
    qs = authz.visible_to(user, Perm.TEMPLATE_VIEW, TemplateChangeRequest.objects.all())
    if not authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        qs = qs.filter(proposed_by_id=user.pk)
    if template is not None:
        qs = qs.filter(template_id=template)
    if state is not None:
        qs = qs.filter(state=state)
    return _page(qs.order_by("-created_at", "-id"), limit, offset)


@router.post(
    "/template-changes/{int:change_id}/decide",
    response=ChangeRequestOut,
    operation_id="decide_template_change",
)
def decide_template_change(request: AuthedRequest, change_id: int, payload: DecisionIn) -> Any:
    """Approve (the item is saved and the template republished) or reject a proposal."""
    user = _writer(request)
    change = authz.get_for(user, Perm.TEMPLATE_MANAGE, TemplateChangeRequest, pk=change_id)
    return actions.decide_template_change(change, payload.approve, acting_user=user)


# ---------------------------------------------------------------- cases


class PersonRef(Schema):
    id: int
    name: str
    employee_number: str


class CaseOut(Schema):
    id: int
    employee: PersonRef
    business_unit_id: int
    department_id: int
    legal_entity_id: int
    exit_type: ExitType
    reason: str
    desired_last_day: dt.date | None
    last_working_day: dt.date
    state: CaseState
    state_before_stop: str
    confidential: bool
    revealed_at: dt.datetime | None
    successor: PersonRef | None
    template_version_id: int | None
    opened_by_id: int
    opened_at: dt.datetime
    submitted_at: dt.datetime | None
    approved_at: dt.datetime | None
    cleared_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime


class CasePage(Page):
    items: list[CaseOut]


class TaskCounts(Schema):
    total: int
    done: int
    open: int
    submitted: int
    overdue: int
    blocking_open: int
    by_state: dict[str, int]


class CaseDetail(CaseOut):
    tasks: TaskCounts = Field(...)

    @staticmethod
    def resolve_tasks(obj: ExitCase) -> dict[str, Any]:
        return _task_counts(obj)


def _task_counts(case: ExitCase) -> dict[str, Any]:
    done = Q(state__in=DONE_TASK_STATES)
    today = timezone.localdate()
    tasks = HandoverTask.objects.filter(case_id=case.pk).order_by()
    agg = tasks.aggregate(
        total=Count("id"),
        done=Count("id", filter=done),
        submitted=Count("id", filter=Q(state=TaskState.SUBMITTED)),
        overdue=Count("id", filter=Q(due_date__lt=today) & ~done),
        blocking_open=Count("id", filter=Q(blocks_clearance=True) & ~done),
    )
    by_state = dict(tasks.values_list("state").annotate(n=Count("id")))
    return {**agg, "open": agg["total"] - agg["done"], "by_state": by_state}


class CaseOpenIn(Schema):
    employee_id: int
    exit_type: ExitType
    last_working_day: dt.date
    reason: str = Field(default="", max_length=2000)
    desired_last_day: dt.date | None = None
    confidential: bool = False
    successor_id: int | None = None
    submit: bool = False


def _employee_or_none(pk: int | None) -> Employee | None:
    if pk is None:
        return None
    found = Employee.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidInput.field("successor", _("Unknown employee."))
    return found


class ApproveIn(Schema):
    successor_id: int | None = Field(None, description="The successor (default receiver).")
    receivers: dict[str, int] = Field(
        default_factory=dict,
        description='Item key → employee id, for items whose receiver is "ask at launch".',
    )
    owners: dict[str, int] = Field(
        default_factory=dict,
        description='Item key → employee id, for items whose owner is "ask at launch".',
    )


class ReasonIn(Schema):
    reason: str = Field(default="", max_length=2000)


class LastDayIn(Schema):
    last_working_day: dt.date


class TaskAddIn(Schema):
    title: str = Field(..., max_length=200)
    category: Category = Category.BUSINESS
    acceptance_criteria: str = Field(default="", max_length=4000)
    evidence_kind: EvidenceKind = EvidenceKind.SIGNOFF
    sub_items: list[str] = Field(default_factory=list)
    owner_id: int | None = None
    receiver_id: int | None = None
    due_date: dt.date | None = None
    blocks_clearance: bool = True


def _case_qs() -> QuerySet[ExitCase]:
    return ExitCase.objects.select_related("employee", "successor")


def _employee_or_invalid(field: str, employee_id: int | None) -> Employee | None:
    if employee_id is None:
        return None
    found = Employee.objects.filter(pk=employee_id).first()
    if found is None:
        raise InvalidInput.field(field, _("Unknown employee."))
    return found


def _leaver(user: Any, employee_id: int) -> Employee:
    """The person a case is opened for: themselves, or someone the user may see or handle exits
    of (the action decides whether they may open this case)."""
    qs = Employee.objects.filter(pk=employee_id)
    me = authz.access_for(user).employee_id
    if me != employee_id and not any(
        authz.visible_to(user, perm, qs).exists()
        for perm in (Perm.EMPLOYEE_VIEW, Perm.CASE_MANAGE, Perm.CASE_APPROVE)
    ):
        raise Http404(_("Not found, or not visible to you."))
    employee = qs.first()
    if employee is None:
        raise Http404(_("Not found, or not visible to you."))
    return employee


@router.get("/cases", response=CasePage, operation_id="list_cases")
def list_cases(
    request: AuthedRequest,
    state: CaseState | None = None,
    business_unit: int | None = None,
    department: int | None = None,
    employee: int | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Exit cases the user may see; `department` covers its whole subtree, `q` is a name or
    employee-number prefix."""
    user = _reader(request)
    authz.require(user, Perm.CASE_VIEW)
    qs = authz.visible_to(user, Perm.CASE_VIEW, _case_qs())
    if state is not None:
        qs = qs.filter(state=state)
    if business_unit is not None:
        qs = qs.filter(business_unit_id=business_unit)
    if department is not None:
        path = Department.objects.filter(pk=department).values_list("path", flat=True).first()
        qs = qs.filter(department__path__startswith=path) if path else qs.none()
    if employee is not None:
        qs = qs.filter(employee_id=employee)
    if q := q.strip():
        qs = qs.filter(Q(employee__name__startswith=q) | Q(employee__employee_number__startswith=q))
    return _page(qs.order_by("-opened_at", "-id"), limit, offset)


@router.get("/cases/{int:case_id}", response=CaseDetail, operation_id="get_case")
def get_case(request: AuthedRequest, case_id: int) -> Any:
    return _case(_reader(request), case_id)


@router.post("/cases", response={201: CaseDetail}, operation_id="open_case")
def open_case(request: AuthedRequest, payload: CaseOpenIn) -> Any:
    """Open an exit case: an employee's own resignation, HR or the manager initiating one, or
    HR opening a confidential pre-resignation handover. `submit` submits it at once."""
    user = _writer(request)
    employee = _leaver(user, payload.employee_id)
    case = actions.open_case(
        employee,
        acting_user=user,
        exit_type=payload.exit_type,
        last_working_day=payload.last_working_day,
        reason=payload.reason,
        desired_last_day=payload.desired_last_day,
        confidential=payload.confidential,
        successor=_employee_or_invalid("successor_id", payload.successor_id),
        submit=payload.submit,
    )
    return Status(201, _case_qs().get(pk=case.pk))


def _case_action(
    request: AuthedRequest, case_id: int, do: Callable[[ExitCase, Any], Any]
) -> ExitCase:
    user = _writer(request)
    case = _case(user, case_id)
    do(case, user)
    return _case_qs().get(pk=case.pk)


@router.post("/cases/{int:case_id}/submit", response=CaseDetail, operation_id="submit_case")
def submit_case(request: AuthedRequest, case_id: int) -> Any:
    return _case_action(request, case_id, lambda c, u: actions.submit_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/approve", response=CaseDetail, operation_id="approve_case")
def approve_case(request: AuthedRequest, case_id: int, payload: ApproveIn | None = None) -> Any:
    """Approve the exit; every handover task is generated from the checklist in the same
    transaction."""
    body = payload or ApproveIn(successor_id=None)
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.approve_case(
            c,
            acting_user=u,
            receivers=body.receivers,
            owners=body.owners,
            successor=_employee_or_none(body.successor_id),
        ),
    )


@router.post("/cases/{int:case_id}/reveal", response=CaseDetail, operation_id="reveal_case")
def reveal_case(request: AuthedRequest, case_id: int) -> Any:
    """Make a confidential pre-resignation handover visible to the leaver."""
    return _case_action(request, case_id, lambda c, u: actions.reveal_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/withdraw", response=CaseDetail, operation_id="withdraw_case")
def withdraw_case(request: AuthedRequest, case_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.withdraw_case(c, acting_user=u, reason=body.reason),
    )


@router.post("/cases/{int:case_id}/cancel", response=CaseDetail, operation_id="cancel_case")
def cancel_case(request: AuthedRequest, case_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _case_action(
        request, case_id, lambda c, u: actions.cancel_case(c, acting_user=u, reason=body.reason)
    )


@router.post("/cases/{int:case_id}/restore", response=CaseDetail, operation_id="restore_case")
def restore_case(request: AuthedRequest, case_id: int) -> Any:
    """Undo a withdrawal or cancellation: the case returns to where it was, tasks and all."""
    return _case_action(request, case_id, lambda c, u: actions.restore_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/last-day", response=CaseDetail, operation_id="change_last_day")
def change_last_day(request: AuthedRequest, case_id: int, payload: LastDayIn) -> Any:
    """Move the last working day; open tasks' due dates follow."""
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.change_last_day(c, payload.last_working_day, acting_user=u),
    )


@router.post("/cases/{int:case_id}/clear", response=CaseDetail, operation_id="clear_case")
def clear_case(request: AuthedRequest, case_id: int) -> Any:
    """Clearance (gates only the severance payment): every blocking item accepted or waived."""
    return _case_action(request, case_id, lambda c, u: actions.clear_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/close", response=CaseDetail, operation_id="close_case")
def close_case(request: AuthedRequest, case_id: int) -> Any:
    return _case_action(request, case_id, lambda c, u: actions.close_case(c, acting_user=u))


# ---------------------------------------------------------------- tasks


class SubItemOut(Schema):
    label: str
    done: bool


class TaskOut(Schema):
    id: int
    case_id: int
    leaver: PersonRef = Field(...)
    key: str
    title: str
    category: str
    owner_id: int | None
    owner_user_id: int | None
    owner_queue: str
    receiver_id: int | None
    approver_id: int | None
    approver_user_id: int | None
    approver_queue: str
    due_date: dt.date
    due_offset: int | None
    overdue: bool = Field(...)
    acceptance_criteria: str
    evidence_kind: EvidenceKind
    sub_items: list[SubItemOut]
    blocks_clearance: bool
    reusable: bool
    state: TaskState
    note: str
    last_comment: str
    added_by_hr: bool
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_leaver(obj: HandoverTask) -> Employee:
        return obj.case.employee

    @staticmethod
    def resolve_overdue(obj: HandoverTask) -> bool:
        return obj.state not in DONE_TASK_STATES and obj.due_date < timezone.localdate()


class TaskDetail(TaskOut):
    missing_evidence: list[str] = Field(...)

    @staticmethod
    def resolve_missing_evidence(obj: HandoverTask) -> list[str]:
        if obj.state in DONE_TASK_STATES:
            return []
        return [str(m) for m in actions.missing_evidence(obj)]


class TaskPage(Page):
    items: list[TaskOut]


class WorkIn(Schema):
    note: str | None = Field(default=None, max_length=20000)
    done_sub_items: list[int] | None = Field(
        None, description="Indexes of the sub-items that are done (the others are not)."
    )


class SubmitIn(Schema):
    note: str | None = Field(default=None, max_length=20000)


class CommentIn(Schema):
    comment: str = Field(default="", max_length=2000)


class ReassignIn(Schema):
    owner_id: int | None = None
    receiver_id: int | None = None
    approver_id: int | None = None


def _task_qs() -> QuerySet[HandoverTask]:
    return HandoverTask.objects.select_related("case", "case__employee")


def _mine_q(user: Any, role: str) -> Q:
    """Tasks the user owns / approves (in person or through a department queue) / receives."""
    me = authz.access_for(user).employee_id
    if role == "receiver":
        return Q(receiver_id=me) if me else Q(pk__in=[])
    q = Q(**{f"{role}_user_id": user.pk})
    if me:
        q |= Q(**{f"{role}_id": me})
    for queue, perm in authz.QUEUE_PERMS:
        if authz.has_perm(user, perm):
            q |= Q(**{f"{role}_queue": queue}) & authz.scope_q(user, perm, "case__employee__")
    return q


@router.get("/tasks", response=TaskPage, operation_id="list_tasks")
def list_tasks(
    request: AuthedRequest,
    case: int | None = None,
    state: TaskState | None = None,
    mine: Literal["owner", "approver", "receiver"] | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Handover tasks the user may see: on cases they may see, and those they take part in."""
    user = _reader(request)
    qs = authz.visible_to(user, Perm.CASE_VIEW, _task_qs())
    if case is not None:
        qs = qs.filter(case_id=case)
    if state is not None:
        qs = qs.filter(state=state)
    if mine is not None:
        qs = qs.filter(_mine_q(user, mine))
    if overdue:
        qs = qs.filter(due_date__lt=timezone.localdate()).exclude(state__in=DONE_TASK_STATES)
    return _page(qs.order_by("due_date", "case_id", "sort", "id"), limit, offset)


@router.get("/tasks/{int:task_id}", response=TaskDetail, operation_id="get_task")
def get_task(request: AuthedRequest, task_id: int) -> Any:
    return _task(_reader(request), task_id)


@router.post("/cases/{int:case_id}/tasks", response={201: TaskDetail}, operation_id="add_task")
def add_task(request: AuthedRequest, case_id: int, payload: TaskAddIn) -> Any:
    """HR adds an item to a running case (HR accepts it)."""
    user = _writer(request)
    case = _case(user, case_id)
    _employee_or_invalid("owner_id", payload.owner_id)
    _employee_or_invalid("receiver_id", payload.receiver_id)
    task = actions.add_task(case, payload.model_dump(), acting_user=user)
    return Status(201, _task_qs().get(pk=task.pk))


def _task_action(
    request: AuthedRequest, task_id: int, do: Callable[[HandoverTask, Any], Any]
) -> HandoverTask:
    user = _writer(request)
    task = _task(user, task_id)
    do(task, user)
    return _task_qs().get(pk=task.pk)


@router.post("/tasks/{int:task_id}/start", response=TaskDetail, operation_id="start_task")
def start_task(request: AuthedRequest, task_id: int) -> Any:
    return _task_action(request, task_id, lambda t, u: actions.start_task(t, acting_user=u))


@router.patch("/tasks/{int:task_id}/work", response=TaskDetail, operation_id="update_task_work")
def update_task_work(request: AuthedRequest, task_id: int, payload: WorkIn) -> Any:
    """The owner records progress: the handover note and which sub-items are done."""
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.update_task_work(
            t, acting_user=u, note=payload.note, done_sub_items=payload.done_sub_items
        ),
    )


@router.post("/tasks/{int:task_id}/submit", response=TaskDetail, operation_id="submit_task")
def submit_task(request: AuthedRequest, task_id: int, payload: SubmitIn | None = None) -> Any:
    """The owner submits for acceptance; the declared evidence must be complete."""
    body = payload or SubmitIn()
    return _task_action(
        request, task_id, lambda t, u: actions.submit_task(t, acting_user=u, note=body.note)
    )


@router.post("/tasks/{int:task_id}/accept", response=TaskDetail, operation_id="accept_task")
def accept_task(request: AuthedRequest, task_id: int, payload: CommentIn | None = None) -> Any:
    body = payload or CommentIn()
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.accept_task(t, acting_user=u, comment=body.comment),
    )


@router.post("/tasks/{int:task_id}/reject", response=TaskDetail, operation_id="reject_task")
def reject_task(request: AuthedRequest, task_id: int, payload: CommentIn | None = None) -> Any:
    """Send the work back to the owner; the comment says what is missing."""
    body = payload or CommentIn()
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.reject_task(t, acting_user=u, comment=body.comment),
    )


@router.post("/tasks/{int:task_id}/waive", response=TaskDetail, operation_id="waive_task")
def waive_task(request: AuthedRequest, task_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _task_action(
        request, task_id, lambda t, u: actions.waive_task(t, acting_user=u, reason=body.reason)
    )


@router.post("/tasks/{int:task_id}/reassign", response=TaskDetail, operation_id="reassign_task")
def reassign_task(request: AuthedRequest, task_id: int, payload: ReassignIn) -> Any:
    """HR gives the item another owner, receiver or approver (employee ids)."""
    if payload.owner_id is None and payload.receiver_id is None and payload.approver_id is None:
        raise InvalidInput(_("The request is not valid."))
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.reassign_task(
            t,
            acting_user=u,
            owner_id=payload.owner_id,
            receiver_id=payload.receiver_id,
            approver_id=payload.approver_id,
        ),
    )


# ---------------------------------------------------------------- documents


class DocumentOut(Schema):
    id: int
    case_id: int
    task_id: int | None
    name: str
    content_type: str
    size: int
    sha256: str
    version: int
    previous_id: int | None
    reusable: bool
    note: str
    uploaded_by_id: int
    uploaded_at: dt.datetime
    download_url: str = Field(...)

    @staticmethod
    def resolve_download_url(obj: Document) -> str:
        return reverse("api:download_document", kwargs={"document_id": obj.pk})


class DocumentPage(Page):
    items: list[DocumentOut]


def _required_file(file: UploadedFile | None) -> UploadedFile:
    # Checked here rather than by the schema, so the error names the field `file`.
    if file is None:
        raise InvalidInput.field("file", _("This field is required."))
    return file


def _documents(user: Any, **filters: Any) -> QuerySet[Document]:
    return authz.visible_to(user, Perm.CASE_VIEW, Document.objects.filter(**filters)).order_by(
        "name", "-version", "id"
    )


@router.get(
    "/cases/{int:case_id}/documents", response=DocumentPage, operation_id="list_case_documents"
)
def list_case_documents(
    request: AuthedRequest, case_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Every document of the case (its own and its tasks'), newest version first."""
    user = _reader(request)
    case = _case(user, case_id)
    return _page(_documents(user, case_id=case.pk), limit, offset)


@router.get(
    "/tasks/{int:task_id}/documents", response=DocumentPage, operation_id="list_task_documents"
)
def list_task_documents(
    request: AuthedRequest, task_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    user = _reader(request)
    task = _task(user, task_id)
    return _page(_documents(user, task_id=task.pk), limit, offset)


@router.post(
    "/cases/{int:case_id}/documents",
    response={201: DocumentOut},
    operation_id="upload_case_document",
)
def upload_case_document(
    request: AuthedRequest,
    case_id: int,
    file: File[UploadedFile | None] = None,
    reusable: Form[bool] = False,
    note: Form[str] = "",
) -> Any:
    """Upload a file to the case itself (HR). Stored encrypted; the same name again is a new
    version."""
    user = _writer(request)
    case = _case(user, case_id)
    upload = _required_file(file)
    return Status(
        201, actions.upload_document(case, upload, acting_user=user, reusable=reusable, note=note)
    )


@router.post(
    "/tasks/{int:task_id}/documents",
    response={201: DocumentOut},
    operation_id="upload_task_document",
)
def upload_task_document(
    request: AuthedRequest,
    task_id: int,
    file: File[UploadedFile | None] = None,
    reusable: Form[bool] = False,
    note: Form[str] = "",
) -> Any:
    """The task's owner uploads evidence. `reusable` files feed the position's knowledge map
    when the item is accepted."""
    user = _writer(request)
    task = _task(user, task_id)
    upload = _required_file(file)
    return Status(
        201,
        actions.upload_document(
            task.case, upload, acting_user=user, task=task, reusable=reusable, note=note
        ),
    )


@router.get(
    "/documents/{int:document_id}/download",
    response={200: None},
    operation_id="download_document",
)
def download_document(request: AuthedRequest, document_id: int) -> HttpResponse:
    """The decrypted file, checked against its SHA-256. Every download is audited."""
    user = _reader(request)
    doc = authz.get_for(user, Perm.CASE_VIEW, Document, pk=document_id)
    data = actions.read_document(doc, acting_user=user)
    response = HttpResponse(data, content_type=doc.content_type)
    response["Content-Disposition"] = content_disposition_header(True, doc.name) or "attachment"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-SHA256"] = doc.sha256
    return response


# ---------------------------------------------------------------- external confirmations


class ConfirmationOut(Schema):
    id: int
    task_id: int
    recipient_name: str
    recipient_email: str
    statement: str
    expires_at: dt.datetime
    created_by_id: int
    created_at: dt.datetime
    responded_at: dt.datetime | None
    confirmed: bool | None
    response_note: str
    status: Literal["pending", "confirmed", "declined", "expired"] = Field(...)

    @staticmethod
    def resolve_status(obj: ExternalConfirmation) -> str:
        if obj.responded_at is not None:
            return "confirmed" if obj.confirmed else "declined"
        return "expired" if obj.expires_at <= timezone.now() else "pending"


class ConfirmationCreated(ConfirmationOut):
    url: str = Field(..., description="The one-time link to send; shown only now.")


class ConfirmationPage(Page):
    items: list[ConfirmationOut]


class ConfirmationIn(Schema):
    recipient_name: str = Field(default="", max_length=200)
    recipient_email: str = Field(
        default="", max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    statement: str = Field(default="", max_length=4000)
    valid_days: int = actions.CONFIRMATION_DAYS


class PublicConfirmationOut(Schema):
    company: str
    recipient_name: str
    statement: str
    expires_at: dt.datetime


class AnswerIn(Schema):
    confirmed: bool
    note: str = Field(default="", max_length=2000)


class AnswerOut(Schema):
    confirmed: bool
    responded_at: dt.datetime


@router.get(
    "/tasks/{int:task_id}/confirmations",
    response=ConfirmationPage,
    operation_id="list_confirmations",
)
def list_confirmations(
    request: AuthedRequest, task_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    user = _reader(request)
    task = _task(user, task_id)
    qs = authz.visible_to(
        user, Perm.CASE_VIEW, ExternalConfirmation.objects.filter(task_id=task.pk)
    ).order_by("-created_at", "-id")
    return _page(qs, limit, offset)


@router.post(
    "/tasks/{int:task_id}/confirmations",
    response={201: ConfirmationCreated},
    operation_id="create_confirmation",
)
def create_confirmation(request: AuthedRequest, task_id: int, payload: ConfirmationIn) -> Any:
    """A one-time, expiring link for someone outside the company to confirm a handover fact.
    The link is returned only in this response; only its hash is stored."""
    user = _writer(request)
    task = _task(user, task_id)
    conf, raw = actions.create_confirmation(
        task,
        acting_user=user,
        recipient_name=payload.recipient_name,
        statement=payload.statement,
        recipient_email=payload.recipient_email,
        valid_days=payload.valid_days,
    )
    conf.url = reverse("public:confirm", kwargs={"token": raw})  # type: ignore[attr-defined]
    return Status(201, conf)


def _link_error(exc: InvalidInput | Conflict) -> Status:
    # Public semantics: an unknown link is 404; a used or expired one is gone (410).
    return Status(404 if isinstance(exc, InvalidInput) else 410, exc.as_dict())


@router.get(
    "/confirmations/{token}",
    auth=None,
    response={200: PublicConfirmationOut, 404: ErrorOut, 410: ErrorOut},
    operation_id="get_public_confirmation",
)
def get_public_confirmation(request: HttpRequest, token: str) -> Any:
    """Public (no account): what the link's recipient is asked to confirm."""
    try:
        conf = actions.find_confirmation(token)
    except (InvalidInput, Conflict) as exc:
        return _link_error(exc)
    return {
        "company": conf.task.case.legal_entity.name,
        "recipient_name": conf.recipient_name,
        "statement": conf.statement,
        "expires_at": conf.expires_at,
    }


@router.post(
    "/confirmations/{token}",
    auth=None,
    response={200: AnswerOut, 404: ErrorOut, 410: ErrorOut},
    operation_id="answer_public_confirmation",
)
def answer_public_confirmation(request: HttpRequest, token: str, payload: AnswerIn) -> Any:
    """Public (no account): confirm or decline, once. Recorded with time and IP, audited."""
    try:
        conf = actions.answer_confirmation(
            token,
            confirmed=payload.confirmed,
            note=payload.note,
            client_ip=client_ip(request) or "",
        )
    except (InvalidInput, Conflict) as exc:
        return _link_error(exc)
    return conf


# ---------------------------------------------------------------- knowledge map


class KnowledgeOut(Schema):
    id: int
    position_id: int
    title: str
    body: str
    category: str
    document_id: int | None
    document_name: str | None = Field(...)
    source_task_id: int | None
    contributed_by_id: int | None
    views: int
    created_at: dt.datetime

    @staticmethod
    def resolve_document_name(obj: KnowledgeItem) -> str | None:
        return obj.document.name if obj.document_id and obj.document else None


class KnowledgePage(Page):
    items: list[KnowledgeOut]


def _knowledge(user: Any) -> QuerySet[KnowledgeItem]:
    authz.require(user, Perm.TEMPLATE_VIEW)
    return actions.knowledge_visible_to(user).select_related("document")


@router.get("/knowledge", response=KnowledgePage, operation_id="list_knowledge")
def list_knowledge(
    request: AuthedRequest,
    position: int | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    user = _reader(request)
    qs = _knowledge(user)
    if position is not None:
        qs = qs.filter(position_id=position)
    if q := q.strip():
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return _page(qs.order_by("position_id", "category", "title", "id"), limit, offset)


@router.get("/knowledge/{int:item_id}", response=KnowledgeOut, operation_id="get_knowledge")
def get_knowledge(request: AuthedRequest, item_id: int) -> Any:
    """One entry; reading it counts a view."""
    user = _reader(request)
    item = authz.get_for(user, Perm.TEMPLATE_VIEW, _knowledge(user), pk=item_id)
    actions.count_knowledge_view(item)
    return item
