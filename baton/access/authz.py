"""Authorization: the one place that decides who sees and does what.

Every read goes through `visible_to(user, perm, queryset)`; every single-object fetch through
`get_for(user, perm, queryset, **lookup)`, which answers 404 when the object is outside what
the user may see and 403 when they may see it but not do `perm` to it. The UI, the API and
background tasks (acting as a user) all call these.

Roles grant permissions over a scope: the whole group, a business unit, a legal entity, a
department subtree, or — for employees and receivers — only their own record. An API token
narrows its owner's permissions to the token's scopes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from baton.access.models import Role, RoleAssignment, TokenScope


class Perm(StrEnum):
    ORG_VIEW = "org.view"  # organisation structure: units, entities, departments, positions
    ORG_MANAGE = "org.manage"  # change the structure and the group's settings
    EMPLOYEE_VIEW = "employee.view"
    EMPLOYEE_CHANGE = "employee.change"
    RECORDS_VIEW = "records.view"  # contracts, agreements, lifecycle history
    RECORDS_CHANGE = "records.change"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    CASE_VIEW = "case.view"  # exit cases and their tasks (scoped by the leaver)
    CASE_MANAGE = "case.manage"  # open employer-initiated / confidential cases, cancel, waive
    CASE_APPROVE = "case.approve"  # approve resignations
    CASE_PARTICIPATE = "case.participate"  # work, submit or decide own handover tasks
    TEMPLATE_VIEW = "template.view"
    TEMPLATE_PROPOSE = "template.propose"  # propose a checklist change (applied when HR approves)
    TEMPLATE_MANAGE = "template.manage"
    QUEUE_HR = "queue.hr"  # work the HR and administration task queues
    QUEUE_IT = "queue.it"
    QUEUE_FINANCE = "queue.finance"
    USERS_MANAGE = "users.manage"  # users, roles and API tokens of others (never via a token)
    INBOX = "inbox"  # one's own in-app notifications and channel choices
    NOTIFY_MANAGE = "notify.manage"  # notification channels (of a unit) and reminder rules
    DELIVERY_VIEW = "delivery.view"  # the delivery log of cases in scope
    INTEGRATIONS_MANAGE = "integrations.manage"  # webhook subscriptions, connected systems
    BUSINESS_PUSH = "business.push"  # push a leaver's business records onto cases (systems)


P = Perm
_VIEW_ORG = {P.ORG_VIEW, P.EMPLOYEE_VIEW}
ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.GROUP_ADMIN: frozenset(Perm),
    Role.HRBP: frozenset(
        _VIEW_ORG
        | {P.EMPLOYEE_CHANGE, P.RECORDS_VIEW, P.RECORDS_CHANGE, P.AUDIT_VIEW, P.CASE_VIEW}
        | {P.CASE_MANAGE, P.CASE_APPROVE, P.CASE_PARTICIPATE, P.QUEUE_HR}
        | {P.TEMPLATE_VIEW, P.TEMPLATE_PROPOSE, P.TEMPLATE_MANAGE}
        | {P.INBOX, P.NOTIFY_MANAGE, P.DELIVERY_VIEW, P.INTEGRATIONS_MANAGE, P.BUSINESS_PUSH}
    ),
    Role.DEPT_HEAD: frozenset(
        _VIEW_ORG
        | {P.CASE_VIEW, P.CASE_APPROVE, P.CASE_PARTICIPATE, P.TEMPLATE_VIEW, P.TEMPLATE_PROPOSE}
        | {P.INBOX}
    ),
    Role.EMPLOYEE: frozenset(
        {P.EMPLOYEE_VIEW, P.RECORDS_VIEW, P.CASE_VIEW, P.CASE_PARTICIPATE}
        | {P.TEMPLATE_VIEW, P.TEMPLATE_PROPOSE, P.INBOX}
    ),
    Role.RECEIVER: frozenset({P.EMPLOYEE_VIEW, P.CASE_PARTICIPATE, P.INBOX}),
    Role.IT: frozenset(_VIEW_ORG | {P.CASE_VIEW, P.CASE_PARTICIPATE, P.QUEUE_IT, P.INBOX}),
    Role.FINANCE: frozenset(
        _VIEW_ORG | {P.RECORDS_VIEW, P.CASE_VIEW, P.CASE_PARTICIPATE, P.QUEUE_FINANCE, P.INBOX}
    ),
    # Read-only evidence: sees everything in scope, works and proposes nothing.
    Role.AUDITOR: frozenset(
        _VIEW_ORG
        | {P.RECORDS_VIEW, P.AUDIT_VIEW, P.AUDIT_EXPORT, P.CASE_VIEW, P.TEMPLATE_VIEW}
        | {P.INBOX, P.DELIVERY_VIEW}
    ),
}
SELF_ROLES = frozenset({Role.EMPLOYEE, Role.RECEIVER})

TOKEN_SCOPE_PERMS: dict[str, frozenset[Perm]] = {
    TokenScope.ORG_READ: frozenset({P.ORG_VIEW, P.EMPLOYEE_VIEW, P.RECORDS_VIEW}),
    TokenScope.ORG_WRITE: frozenset({P.ORG_MANAGE, P.EMPLOYEE_CHANGE, P.RECORDS_CHANGE}),
    TokenScope.AUDIT_READ: frozenset({P.AUDIT_VIEW, P.AUDIT_EXPORT}),
    TokenScope.HANDOVER_READ: frozenset({P.CASE_VIEW, P.TEMPLATE_VIEW}),
    TokenScope.HANDOVER_WRITE: frozenset(
        {P.CASE_MANAGE, P.CASE_APPROVE, P.CASE_PARTICIPATE, P.QUEUE_HR, P.QUEUE_IT}
        | {P.QUEUE_FINANCE, P.TEMPLATE_PROPOSE, P.TEMPLATE_MANAGE}
    ),
    TokenScope.NOTIFY_READ: frozenset({P.INBOX, P.DELIVERY_VIEW}),
    TokenScope.NOTIFY_WRITE: frozenset({P.INBOX, P.NOTIFY_MANAGE}),
    TokenScope.INTEGRATIONS: frozenset({P.INTEGRATIONS_MANAGE}),
    TokenScope.BUSINESS_PUSH: frozenset({P.CASE_VIEW, P.BUSINESS_PUSH}),
    # The owner's own preferences are not a permission over anyone's data: checked by
    # `require_token_scope` where they are changed.
    TokenScope.ACCOUNT_WRITE: frozenset(),
}

# Which permission lets a user *see* objects of a model; `get_for` answers 404 outside it.
VIEW_PERM_OF = {
    "org.employee": P.EMPLOYEE_VIEW,
    "org.contract": P.RECORDS_VIEW,
    "org.agreement": P.RECORDS_VIEW,
    "org.lifecycleevent": P.RECORDS_VIEW,
    "org.attendanceday": P.RECORDS_VIEW,
    "org.leaverecord": P.RECORDS_VIEW,
    "org.performancerating": P.RECORDS_VIEW,
    "org.compensationchange": P.RECORDS_VIEW,
    "audit.auditentry": P.AUDIT_VIEW,
    "access.user": P.USERS_MANAGE,
    "access.roleassignment": P.USERS_MANAGE,
    "access.apitoken": P.USERS_MANAGE,
    "handover.exitcase": P.CASE_VIEW,
    "handover.handovertask": P.CASE_VIEW,
    "handover.document": P.CASE_VIEW,
    "handover.externalconfirmation": P.CASE_VIEW,
    "handover.checklisttemplate": P.TEMPLATE_VIEW,
    "handover.templateitem": P.TEMPLATE_VIEW,
    "handover.templateversion": P.TEMPLATE_VIEW,
    "handover.templatechangerequest": P.TEMPLATE_VIEW,
    "handover.knowledgeitem": P.TEMPLATE_VIEW,
    "notify.delivery": P.DELIVERY_VIEW,
    "notify.channel": P.NOTIFY_MANAGE,
    "notify.reminderrule": P.NOTIFY_MANAGE,
    "notify.notification": P.INBOX,
    "integrations.revocation": P.CASE_VIEW,
    "integrations.datapull": P.CASE_VIEW,
    "integrations.businessitem": P.CASE_VIEW,
}
# How a model's rows relate to an employee (the unit scopes are expressed in).
EMPLOYEE_PATH = {
    "org.employee": "",
    "org.contract": "employee__",
    "org.agreement": "employee__",
    "org.lifecycleevent": "employee__",
    "org.attendanceday": "employee__",
    "org.leaverecord": "employee__",
    "org.performancerating": "employee__",
    "org.compensationchange": "employee__",
}


@dataclass
class Scope:
    """The part of the group a permission covers."""

    everything: bool = False
    business_units: set[int] = field(default_factory=set)
    legal_entities: set[int] = field(default_factory=set)
    department_paths: set[str] = field(default_factory=set)
    self_employee: int | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.everything
            or self.business_units
            or self.legal_entities
            or self.department_paths
            or self.self_employee
        )


@dataclass
class Access:
    user_id: int | None
    employee_id: int | None
    scopes: dict[Perm, Scope]

    def has(self, perm: Perm) -> bool:
        s = self.scopes.get(perm)
        return s is not None and not s.empty


def access_for(user: Any) -> Access:
    """The user's permissions and scopes, computed once per request and cached on the user."""
    cached = getattr(user, "_baton_access", None)
    if cached is not None:
        return cached
    if user is None or not user.is_authenticated or not user.is_active:
        acc = Access(None, None, {})
    else:
        acc = _compute(user)
    user._baton_access = acc
    return acc


def _compute(user: Any) -> Access:
    token_scopes = getattr(user, "_baton_token_scopes", None)
    allowed: frozenset[Perm] | None = None
    if token_scopes is not None:
        allowed = frozenset().union(*(TOKEN_SCOPE_PERMS.get(s, frozenset()) for s in token_scopes))
    scopes: dict[Perm, Scope] = {}
    assignments = RoleAssignment.objects.filter(user=user).select_related("department")
    for a in assignments:
        for perm in ROLE_PERMS.get(a.role, frozenset()):
            if allowed is not None and perm not in allowed:
                continue
            s = scopes.setdefault(perm, Scope())
            if a.role in SELF_ROLES:
                s.self_employee = user.employee_id
            elif a.business_unit_id:
                s.business_units.add(a.business_unit_id)
            elif a.legal_entity_id:
                s.legal_entities.add(a.legal_entity_id)
            elif a.department_id:
                s.department_paths.add(a.department.path)  # type: ignore[union-attr]
            else:
                s.everything = True
    # Everyone linked to an employee record may see that record.
    if user.employee_id and (allowed is None or P.EMPLOYEE_VIEW in allowed):
        scopes.setdefault(P.EMPLOYEE_VIEW, Scope()).self_employee = user.employee_id
    return Access(user.pk, user.employee_id, scopes)


def token_allows(user: Any, perm: Perm) -> bool:
    """Whether the API token the user authenticated with (if any) covers `perm`."""
    scopes = getattr(user, "_baton_token_scopes", None)
    return scopes is None or any(perm in TOKEN_SCOPE_PERMS.get(s, frozenset()) for s in scopes)


def require_token_scope(request: Any, scope: str) -> None:
    """403 unless the request's API token (if it came with one) holds `scope`. For changes that
    act as the owner without a permission a token's scopes would narrow."""
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(
            _("This API token lacks the scope %(scope)s for this request.") % {"scope": scope}
        )


def has_perm(user: Any, perm: Perm) -> bool:
    """Whether the user holds `perm` anywhere (for showing a menu entry or a button)."""
    return access_for(user).has(perm)


def require(user: Any, perm: Perm) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _employee_q(scope: Scope, prefix: str) -> Q:
    from baton.org.models import Department

    q = Q(pk__in=[])
    if scope.business_units:
        q |= Q(**{f"{prefix}business_unit_id__in": scope.business_units})
    if scope.legal_entities:
        q |= Q(**{f"{prefix}legal_entity_id__in": scope.legal_entities})
    for path in scope.department_paths:
        subtree = Department.objects.filter(path__startswith=path).values("id")
        q |= Q(**{f"{prefix}department_id__in": subtree})
    if scope.self_employee:
        key = f"{prefix.removesuffix('__')}_id" if prefix else "pk"
        q |= Q(**{key: scope.self_employee})
    return q


def _audit_q(scope: Scope) -> Q:
    from baton.org.models import Department, LegalEntity

    q = Q(pk__in=[])
    bus = set(scope.business_units)
    if scope.legal_entities:
        bus |= set(
            LegalEntity.objects.filter(id__in=scope.legal_entities).values_list(
                "business_unit_id", flat=True
            )
        )
    if bus:
        q |= Q(business_unit_id__in=bus)
    for path in scope.department_paths:
        q |= Q(department_id__in=Department.objects.filter(path__startswith=path).values("id"))
    return q


M = TypeVar("M", bound=models.Model)


def scope_q(user: Any, perm: Perm, prefix: str) -> Q:
    """Rows (reached from the model through `prefix`, ending at an employee) on which the user
    holds `perm`: an always-true Q for everything (not `Q()`, which vanishes when OR-ed), an
    impossible Q for nothing."""
    scope = access_for(user).scopes.get(perm)
    if scope is None or scope.empty:
        return Q(pk__in=[])
    if scope.everything:
        return Q(pk__isnull=False)
    return _employee_q(scope, prefix)


# Handover rows and the path from each to its exit case.
CASE_PATH = {
    "handover.exitcase": "",
    "handover.handovertask": "case__",
    "handover.document": "case__",
    "handover.externalconfirmation": "task__case__",
    # Integrations' rows about a case are seen by who sees the case.
    "integrations.revocation": "case__",
    "integrations.datapull": "case__",
    "integrations.businessitem": "case__",
}
TASK_PATH = {
    "handover.handovertask": "",
    "handover.document": "task__",
    "handover.externalconfirmation": "task__",
}
QUEUE_PERMS = (
    ("hr", P.QUEUE_HR),
    ("admin", P.QUEUE_HR),
    ("it", P.QUEUE_IT),
    ("finance", P.QUEUE_FINANCE),
)


def _approve_q(user: Any, prefix: str) -> Q:
    """Cases (reached through `prefix`) whose leaver's exit the user may approve."""
    emp = f"{prefix}employee__"
    approve = scope_q(user, P.CASE_APPROVE, emp)
    acc = access_for(user)
    if acc.employee_id and acc.has(P.CASE_VIEW):
        # A direct manager sees and approves their reports' exits, whatever their role (and
        # only where a token, if any, allows handover reads).
        approve |= Q(**{f"{emp}manager_id": acc.employee_id})
    return approve


def hidden_case_q(prefix: str = "") -> Q:
    """Confidential pre-resignation handovers (预离职交接) not yet revealed."""
    return Q(**{f"{prefix}confidential": True, f"{prefix}revealed_at__isnull": True})


def disclosed_q(user: Any, prefix: str = "") -> Q:
    """Cases (reached through `prefix`) whose existence the user may know of. A confidential
    pre-resignation handover hides every trace of itself — the case, its tasks, counts,
    reminders, events, audit entries — from everyone who may not approve the leaver's exit,
    and from the leaver, until HR reveals it. Every read of a case or of something hanging
    off a case goes through this one rule (`case_q`, the task participants' path in
    `visible_to`, the audit trail, the knowledge map, the reminder planner)."""
    return (
        Q(**{f"{prefix}confidential": False})
        | Q(**{f"{prefix}revealed_at__isnull": False})
        | _approve_q(user, prefix)
    ) & ~_hidden_from_leaver(user, prefix)


def case_q(user: Any, perm: Perm, prefix: str = "") -> Q:
    """Exit cases on which the user holds `perm`. A confidential pre-resignation handover is
    seen only by those who may approve the leaver's exit, and never by the leaver, until HR
    reveals it (`disclosed_q`)."""
    emp = f"{prefix}employee__"
    approve = _approve_q(user, prefix)
    if perm == P.CASE_APPROVE:
        base = approve
    elif perm == P.CASE_VIEW:
        base = scope_q(user, perm, emp) | approve
    else:
        base = scope_q(user, perm, emp)
    return base & disclosed_q(user, prefix)


def _hidden_from_leaver(user: Any, prefix: str) -> Q:
    me = access_for(user).employee_id
    if not me:
        return Q(pk__in=[])
    return Q(**{f"{prefix}employee_id": me}) & hidden_case_q(prefix)


def task_role_q(user: Any, role: str, prefix: str = "") -> Q:
    """Tasks the user holds in `role`: "owner" or "approver" — in person, as a named user, or
    through a department queue (IT, finance, HR) whose role covers the leaver — or
    "receiver" (in person only)."""
    me = access_for(user).employee_id
    if role == "receiver":
        return Q(**{f"{prefix}receiver_id": me}) if me else Q(pk__in=[])
    q = Q(**{f"{prefix}{role}_user_id": user.pk})
    if me:
        q |= Q(**{f"{prefix}{role}_id": me})
    for queue, perm in QUEUE_PERMS:
        if has_perm(user, perm):
            q |= Q(**{f"{prefix}{role}_queue": queue}) & scope_q(
                user, perm, f"{prefix}case__employee__"
            )
    return q


def participant_q(user: Any, prefix: str = "") -> Q:
    """Tasks the user takes part in, as owner, receiver or approver."""
    return (
        task_role_q(user, "owner", prefix)
        | task_role_q(user, "receiver", prefix)
        | task_role_q(user, "approver", prefix)
    )


def in_queue(user: Any, queue: str, case: Any) -> bool:
    """Whether the user works the department queue `queue` for this case's leaver."""
    from baton.org.models import Employee

    for name, perm in QUEUE_PERMS:
        if (
            name == queue
            and visible_to(user, perm, Employee.objects.filter(pk=case.employee_id)).exists()
        ):
            return True
    return False


def _notify_q(user: Any, perm: Perm, label: str) -> Q:
    """Notifications are their recipient's; the delivery log follows its case (digests and
    test messages, which have none, are the recipient's and group admins'); channels follow
    their business unit (group-wide ones need the whole group); reminder rules are group
    settings, managed by anyone who may manage notifications."""
    acc = access_for(user)
    scope = acc.scopes.get(perm)
    if scope is None or scope.empty:
        return Q(pk__in=[])
    if label == "notify.notification":
        return Q(user_id=user.pk)
    if label == "notify.delivery":
        own = Q(case__isnull=True) & (
            Q(recipient_id=user.pk) if not scope.everything else Q(pk__isnull=False)
        )
        return case_q(user, perm, "case__") | own
    if label == "notify.channel":
        if scope.everything:
            return Q(pk__isnull=False)
        return Q(business_unit_id__in=scope.business_units)
    return Q(pk__isnull=False)


def _knowledge_q(user: Any) -> Q:
    """The position knowledge map. An entry is read by the holders of its position (the next
    holder and new hires: the map is for them, across the group), and otherwise only within
    the reader's scope over the leaver who contributed it — like the document it came from:
    HR and checklist managers of the contributor's unit, those who may approve the
    contributor's exit (department head, manager). Never by another business unit's HR, and
    nothing from a hidden pre-resignation handover reaches anyone it is hidden from."""
    acc = access_for(user)
    who = "contributed_by__"
    q = (
        scope_q(user, P.TEMPLATE_MANAGE, who)
        | scope_q(user, P.CASE_MANAGE, who)
        | scope_q(user, P.CASE_APPROVE, who)
    )
    if acc.employee_id:
        from baton.org.models import Employee

        q |= Q(**{f"{who}manager_id": acc.employee_id})
        q |= Q(position_id__in=Employee.objects.filter(pk=acc.employee_id).values("position_id"))
    return q & (Q(source_task__isnull=True) | disclosed_q(user, "source_task__case__"))


@functools.cache
def _case_linked_models() -> dict[str, tuple[str, ...]]:
    """Model label → its paths to an exit case, for every model that hangs off a case,
    directly or through a handover task — the subjects of the audit entries a case writes."""
    from django.apps import apps

    found: dict[str, tuple[str, ...]] = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        for f in model._meta.concrete_fields:
            target = f.related_model._meta.label_lower if f.is_relation and f.related_model else ""
            if target == "handover.exitcase":
                found[label] = (*found.get(label, ()), f"{f.name}__")
            elif target == "handover.handovertask":
                found[label] = (*found.get(label, ()), f"{f.name}__case__")
    return found


def _concealed_audit_q(user: Any) -> Q:
    """Audit entries about a hidden pre-resignation handover the user may not know of: the
    case's own entries and those of everything hanging off it (tasks, documents, …)."""
    from django.apps import apps
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from baton.handover.models import ExitCase

    hidden = ExitCase.objects.filter(hidden_case_q())
    concealed = hidden.exclude(pk__in=hidden.filter(disclosed_q(user)).values("pk")).values("pk")

    def ids(qs: QuerySet[Any]) -> QuerySet[Any]:
        # subject_id is text: compare with the rows' keys as text.
        return qs.order_by().annotate(s=Cast("pk", CharField())).values("s")

    q = Q(subject_type="handover.exitcase", subject_id__in=ids(hidden.filter(pk__in=concealed)))
    for label, paths in _case_linked_models().items():
        linked = Q(pk__in=[])
        for path in paths:
            linked |= Q(**{f"{path}in": concealed})
        rows = apps.get_model(label)._default_manager.filter(linked)
        q |= Q(subject_type=label, subject_id__in=ids(rows))
    return q


def visible_to[M: models.Model](user: Any, perm: Perm, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of `queryset` on which the user holds `perm`."""
    label = queryset.model._meta.label_lower
    acc = access_for(user)
    if acc.user_id is None:
        return queryset.none()
    if label in CASE_PATH:
        q = case_q(user, perm, CASE_PATH[label])
        if label in TASK_PATH and perm == P.CASE_VIEW and token_allows(user, P.CASE_VIEW):
            # Taking part in a task (a queue, a named owner or receiver) never reveals a
            # hidden case: the same rule as the case itself.
            q |= participant_q(user, TASK_PATH[label]) & disclosed_q(user, CASE_PATH[label])
        return queryset.filter(q)
    if label.startswith("notify."):
        return queryset.filter(_notify_q(user, perm, label))
    if label == "handover.knowledgeitem":
        return queryset.filter(_knowledge_q(user)) if acc.has(perm) else queryset.none()
    scope = acc.scopes.get(perm)
    if scope is None or scope.empty:
        return queryset.none()
    if label == "audit.auditentry":
        # The trail is scoped by where its entries belong, and never shows a hidden
        # pre-resignation handover to someone who may not know of it (an auditor, say).
        entries = queryset if scope.everything else queryset.filter(_audit_q(scope))
        return entries.exclude(_concealed_audit_q(user))
    if scope.everything:
        return queryset
    if label in EMPLOYEE_PATH:
        return queryset.filter(_employee_q(scope, EMPLOYEE_PATH[label]))
    if perm in (P.ORG_VIEW, P.ORG_MANAGE, P.TEMPLATE_VIEW, P.TEMPLATE_MANAGE):
        # The structure itself (units, departments, positions) and the checklist templates
        # are not personal data: anyone who may see them at all sees all of them.
        return queryset
    return queryset.none()


def get_for[M: models.Model](
    user: Any, perm: Perm, queryset: QuerySet[M] | type[M], **lookup: Any
) -> M:
    """Fetch one object and check `perm` on it: 404 if the user may not see it, 403 if they may
    see it but not do this."""
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    label = qs.model._meta.label_lower
    view_perm = VIEW_PERM_OF.get(label, P.ORG_VIEW)
    try:
        obj = visible_to(user, view_perm, qs).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(_("Not found, or not visible to you.")) from None
    if perm != view_perm and not visible_to(user, perm, qs).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("You may see this, but not change it."))
    return obj


def check_unit_setting(user: Any, perm: Perm, business_unit_id: int | None, group_msg: str) -> None:
    """Refuse a change to a setting that belongs to a business unit (or, when None, to the
    whole group, which needs `perm` over everything — `group_msg` says so)."""
    scope = access_for(user).scopes.get(perm)
    if scope is None or scope.empty:
        raise PermissionDenied(_("You do not have permission to do this."))
    if scope.everything:
        return
    if business_unit_id is None:
        raise PermissionDenied(group_msg)
    if business_unit_id not in scope.business_units:
        raise PermissionDenied(_("That place is outside the part of the organisation you manage."))


def check_target(
    user: Any,
    perm: Perm,
    *,
    business_unit_id: int | None,
    legal_entity_id: int | None,
    department: Any,
) -> None:
    """Refuse to create or move something into a place outside the user's scope for `perm`."""
    scope = access_for(user).scopes.get(perm)
    if scope is None or scope.empty:
        raise PermissionDenied(_("You do not have permission to do this."))
    if scope.everything:
        return
    if business_unit_id in scope.business_units or legal_entity_id in scope.legal_entities:
        return
    if department is not None and any(
        department.path.startswith(p) for p in scope.department_paths
    ):
        return
    raise PermissionDenied(_("That place is outside the part of the organisation you manage."))
