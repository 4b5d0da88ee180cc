"""Every API endpoint × every role → allowed or denied.

The endpoint list comes from the API's own route table (its OpenAPI schema), so an endpoint
added without a row in EXPECTED fails `test_every_endpoint_has_a_rule`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from baton.access import actions as access_actions
from baton.access.models import ApiToken, RoleAssignment, User
from baton.api import api
from baton.audit.models import AuditEntry
from baton.handover import actions as ho_actions
from baton.handover import packs
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    ChecklistTemplate,
    ExitCase,
    HandoverTask,
    KnowledgeItem,
)
from baton.integrations.actions import revocations
from baton.integrations.actions import systems as system_actions
from baton.integrations.actions import webhooks as integrations_actions
from baton.integrations.models import (
    ConnectedSystem,
    Event,
    Revocation,
    WebhookDelivery,
    WebhookStatus,
)
from baton.notify import actions as notify_actions
from baton.org import actions as org_actions
from baton.org.models import (
    BusinessUnit,
    City,
    Department,
    Employee,
    LegalEntity,
    LifecycleEvent,
    Position,
    PositionFamily,
)

pytestmark = pytest.mark.django_db

ALL = frozenset(
    {
        "admin",
        "hrbp.cloud",
        "hrbp.devices",
        "head.rd",
        "employee",
        "receiver",
        "it",
        "finance",
        "auditor",
    }
)
STRUCTURE_VIEW = ALL - {"employee", "receiver"}
ADMIN = frozenset({"admin"})
HR_CLOUD = frozenset({"admin", "hrbp.cloud"})
# Who may see the target employee (an engineer in the cloud-software BU's R&D subtree).
TARGET_VIEW = frozenset({"admin", "hrbp.cloud", "head.rd", "employee", "it", "finance", "auditor"})
TARGET_RECORDS = frozenset({"admin", "hrbp.cloud", "employee", "finance", "auditor"})
RECORDS_ANYWHERE = ALL - {"it"}
AUDIT_VIEW = frozenset({"admin", "hrbp.cloud", "hrbp.devices", "auditor"})
AUDIT_TARGET = frozenset({"admin", "hrbp.cloud", "auditor"})
AUDIT_EXPORT = frozenset({"admin", "auditor"})
# Handover. The target's exit case is seen by those who may see the target (IT and finance see
# every case, for their queues); its tasks also by their receiver (the peer is the successor).
CASE_TARGET = TARGET_VIEW
TASK_TARGET = TARGET_VIEW | {"receiver"}
CASE_APPROVE_TARGET = frozenset({"admin", "hrbp.cloud", "head.rd"})
LEAVER_OR_HR = frozenset({"employee", "admin", "hrbp.cloud"})
LEAVER_OR_APPROVER = CASE_APPROVE_TARGET | {"employee"}
OWNER = frozenset({"employee"})  # the leaver owns their own handover items
APPROVER = frozenset({"receiver"})  # items the receiver accepts
# Checklist templates are not personal data; TEMPLATE_MANAGE is not scoped to a unit.
TEMPLATES = ALL - {"it", "finance"}
# The demo's checklists are group-wide, so only group HR manages them (BU HR manages
# checklists bound inside its BU).
TEMPLATE_MANAGE = ADMIN
TEMPLATE_PROPOSE = TEMPLATES - {"auditor"}
# The knowledge the target contributed: HR with case or checklist rights over the target (not
# another unit's HR), the R&D head who approves the target's exit, and the position's holder.
KNOWLEDGE_TARGET = frozenset({"admin", "hrbp.cloud", "head.rd", "employee"})
# Notifications: everyone has an inbox; HR (and group admins) manage channels and rules and,
# with auditors, read the delivery log. Channels follow their business unit.
NOTIFY_MANAGE = frozenset({"admin", "hrbp.cloud", "hrbp.devices"})
DELIVERY_VIEW = NOTIFY_MANAGE | {"auditor"}
CHANNEL_CLOUD = HR_CLOUD  # a channel of the target's (cloud-software) business unit
# Webhook subscriptions: group admins and HR manage them (HR only their units'). The matrix's
# subscriptions are group-wide and internal (a loopback receiver): the group admin's alone.
INTEGRATIONS_MANAGE = frozenset({"admin", "hrbp.cloud", "hrbp.devices"})
# Access revocations: IT's queue and evidence, read by IT, HR and auditors; IT acts (HR may
# retry one of its unit's).
REVOCATIONS_VIEW = frozenset({"admin", "hrbp.cloud", "hrbp.devices", "it", "auditor"})
REVOCATION_TARGET = frozenset({"admin", "hrbp.cloud", "it", "auditor"})
REVOCATION_ACT = frozenset({"admin", "it"})
LAST_DAY = dt.date.today() + dt.timedelta(days=60)
# Duplicate people: HR of any unit (and group admins) review them; merging two records of the
# target's unit needs the right to change both.
DUPLICATES_VIEW = frozenset({"admin", "hrbp.cloud", "hrbp.devices"})
# Data migration: who may import something (organisation, employees or records).
IMPORTERS = frozenset({"admin", "hrbp.cloud", "hrbp.devices"})


def _duplicate_pair(w: World, _role: str) -> dict[str, Any]:
    """Two fresh records of one person (same phone) in the target's department."""
    data = {
        "legal_entity_id": w.ids["entity"],
        "department_id": w.ids["dept"],
        "position_id": w.ids["position"],
        "work_city_id": w.ids["city"],
        "hire_date": dt.date(2026, 1, 5),
        "phone": f"139{w.n():08d}",
    }
    made = [
        org_actions.create_employee({**data, "name": "重复员工"}, acting_user=w.users["admin"])
        for _ in range(2)
    ]
    return {"survivor_id": made[0].pk, "duplicate_id": made[1].pk, "reason": "同一身份证"}


@dataclass
class World:
    users: dict[str, User]
    target: Employee
    ids: dict[str, int] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    link: str = ""  # the raw token of a pending external confirmation

    def n(self) -> int:
        return next(self.counter)

    # ---- handover, built on first use (only the handover endpoints need it)

    def ho(self, key: str) -> int:
        if "ho:case" not in self.ids:
            _build_handover(self)
        return self.ids[f"ho:{key}"]

    def fresh_case(self, kind: str) -> int:
        """A new case for the target in the state `kind` (cancelling the open one, as the
        actions allow one open case per person), so each role meets the same state."""
        self.ho("case")
        admin = self.users["admin"]
        for case in ExitCase.objects.filter(employee=self.target, state__in=OPEN_CASE_STATES):
            ho_actions.cancel_case(case, acting_user=admin, reason="矩阵测试重置")
        target = Employee.objects.get(pk=self.target.pk)
        if target.status == "departed":
            org_actions.update_employee(
                target, {"status": "active", "termination_date": None}, acting_user=admin
            )
        case = ho_actions.open_case(
            target,
            acting_user=admin,
            exit_type="resignation",
            last_working_day=LAST_DAY,
            confidential=kind == "confidential",
            successor=Employee.objects.get(pk=self.ho("peer")),
            submit=kind != "draft",
        )
        if kind in ("approved", "clearable", "cleared"):
            case = ho_actions.approve_case(case, acting_user=admin)
        if kind in ("clearable", "cleared"):
            # Accepting or waiving the last blocking item clears a case by itself, so an
            # explicit clearance is for a checklist without blocking items.
            HandoverTask.objects.filter(case=case).update(blocks_clearance=False)
        if kind == "cleared":
            ho_actions.clear_case(case, acting_user=admin)
        if kind == "cancelled":
            ho_actions.cancel_case(case, acting_user=admin, reason="矩阵测试")
        return case.pk

    def open_body(self) -> dict[str, Any]:
        """An exit the target may be opened for (no other case open)."""
        self.fresh_case("draft")
        case = ExitCase.objects.get(employee=self.target, state__in=OPEN_CASE_STATES)
        ho_actions.cancel_case(case, acting_user=self.users["admin"], reason="矩阵测试")
        return {
            "employee_id": self.target.pk,
            "exit_type": "resignation",
            "last_working_day": LAST_DAY.isoformat(),
            "reason": "职业发展",
        }

    def undone_task(self) -> int:
        task = (
            HandoverTask.objects.filter(case_id=self.ho("case"), owner_queue__in=["it", "finance"])
            .exclude(state__in=DONE_TASK_STATES)
            .order_by("sort", "id")
            .first()
        )
        assert task is not None
        return task.pk

    def other_receiver(self) -> dict[str, int]:
        task = HandoverTask.objects.get(pk=self.ho("repositories"))
        peer, head = self.ho("peer"), self.ho("head")
        return {"receiver_id": head if task.receiver_id == peer else peer}

    def pack_with_draft_change(self) -> int:
        """The engineering pack with an unpublished edit (publishing nothing new is refused)."""
        template = ChecklistTemplate.objects.get(pk=self.ho("pack"))
        ho_actions.save_template_item(
            template,
            "matrix-draft",
            {"title": f"草稿事项{self.n()}"},
            acting_user=self.users["admin"],
        )
        return template.pk

    def fresh_change(self) -> int:
        template = ChecklistTemplate.objects.get(pk=self.ho("root"))
        change = ho_actions.propose_template_change(
            template, {"key": "work-files", "due_offset": -4}, acting_user=self.users["employee"]
        )
        return change.pk

    def pending_link(self) -> str:
        self.ho("case")
        return self.link

    # ---- notifications, built on first use

    def nt(self, key: str) -> int:
        if "nt:channel" not in self.ids:
            _build_notify(self)
        return self.ids[f"nt:{key}"]

    def fresh_rule(self) -> int:
        """A rule of the engineering checklist (HR of any unit manages checklists' rules)."""
        rule = notify_actions.create_rule(
            {
                "name": f"规则{self.n()}",
                "template_id": self.ho("pack"),
                "offset": 1,
                "repeat": "once",
                "audience": "hrbp",
                "channels": ["inapp"],
                "mode": "immediate",
            },
            acting_user=self.users["admin"],
        )
        return rule.pk

    def channel_body(self, role: str) -> dict[str, Any]:
        """A new email channel: of the target's unit, or (for the group admin, who comes last)
        of the devices unit, so the allowed creations do not clash."""
        devices = RoleAssignment.objects.get(user=self.users["hrbp.devices"]).business_unit_id
        bu = devices if role == "admin" else self.ids["bu"]
        return {
            "name": f"邮件{self.n()}",
            "kind": "email",
            "business_unit_id": bu,
            "settings": {
                # A name (not resolved when saved), not 127.0.0.1: HR may not point a channel
                # at an internal address.
                "host": "smtp.hx.invalid",
                "port": 2525,
                "from_email": "hr@hx.example",
                "username": "baton",
            },
            "secrets": {"password": "s3cret"},
        }

    # ---- integrations, built on first use

    def ig(self, key: str) -> int:
        if "ig:subscription" not in self.ids:
            _build_integrations(self)
        return self.ids[f"ig:{key}"]

    def subscription_body(self) -> dict[str, Any]:
        return {
            "name": f"回调{self.n()}",
            "url": f"http://127.0.0.1:{_closed_port()}/hook",
            "event_types": ["case.*"],
            "internal": True,
        }

    def dead_delivery(self) -> dict[str, Any]:
        """A dead-lettered delivery to replay (so an allowed replay changes something)."""
        now = dt.datetime.now(dt.UTC)
        event = Event.objects.create(
            type="case.updated", subject=f"cases/{self.n()}", data={}, occurred_at=now
        )
        WebhookDelivery.objects.create(
            subscription_id=self.ig("subscription"),
            event=event,
            subject=event.subject,
            status=WebhookStatus.DEAD,
            attempts=12,
            next_attempt_at=now,
        )
        return {"ids": None}

    # ---- connected systems and access revocations, built on first use

    def rv(self, key: str) -> int:
        if "rv:system" not in self.ids:
            _build_revocations(self)
        return self.ids[f"rv:{key}"]

    def system_token(self) -> int:
        """A fresh token of the group-wide system (each allowed call revokes one)."""
        from baton.integrations.actions import system_tokens

        system = ConnectedSystem.objects.get(pk=self.rv("system"))
        token, _raw = system_tokens.issue_token(
            system, f"t{self.n()}", ["handover:read"], acting_user=self.users["admin"]
        )
        return token.pk

    def system_body(self) -> dict[str, Any]:
        return {
            "name": f"系统{self.n()}",
            "kind": "scim",
            "base_url": f"http://127.0.0.1:{_closed_port()}/v2",
            "internal": True,
            "secrets": {"token": "t0ken-matrix"},
        }

    def failed_revocation(self) -> int:
        """A failed revocation of the target's access (one more system each time, so every
        allowed call finds one to act on)."""
        body = self.system_body()
        secrets = body.pop("secrets")
        system = system_actions.create_system(body, secrets, acting_user=self.users["admin"])
        revocations.plan(ExitCase.objects.get(pk=self.ho("case")))
        rev = Revocation.objects.get(case_id=self.ho("case"), system=system)
        Revocation.objects.filter(pk=rev.pk).update(state="failed", attempts=5, error="down")
        return rev.pk

    # ---- business data of the target's case, built on first use

    def bz(self, key: str) -> int:
        if "bz:system" not in self.ids:
            _build_business(self)
        return self.ids[f"bz:{key}"]

    def customers_case(self) -> int:
        """The target's case with one customer (from a CRM that is not written back to) and
        an email channel for the letters."""
        if "cu:case" not in self.ids:
            from baton.integrations.tests.customers_helpers import add_customers, plain_system

            case = ExitCase.objects.get(pk=self.ho("case"))
            add_customers(case, plain_system(), 1)
            self.nt("channel")
            self.ids["cu:case"] = case.pk
        return self.ids["cu:case"]

    def pushed_records(self) -> dict[str, Any]:
        record = {"kind": "customer", "external_id": f"C-{self.n()}", "name": "矩阵客户"}
        return {"system_id": self.bz("system"), "records": [record]}

    def fresh_link(self) -> str:
        _conf, raw = ho_actions.create_confirmation(
            HandoverTask.objects.get(pk=self.ho("external")),
            acting_user=self.users["employee"],
            recipient_name="某客户",
            statement=f"确认新的对接人 {self.n()}",
        )
        return raw


def _pdf(name: str = "交接说明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 matrix", content_type="application/pdf")


def _build_handover(w: World) -> None:
    """The target resigned (the peer succeeds them) and the head of R&D approved: every
    handover item exists, some in the states the task endpoints need."""
    admin, leaver, receiver = w.users["admin"], w.users["employee"], w.users["receiver"]
    peer = Employee.objects.get(pk=receiver.employee_id)
    packs.install(acting_user=admin)
    case = ho_actions.open_case(
        w.target,
        acting_user=leaver,
        exit_type="resignation",
        last_working_day=LAST_DAY,
        reason="职业发展",
        successor=peer,
        submit=True,
    )
    case = ho_actions.approve_case(case, acting_user=w.users["head.rd"])
    tasks = {t.key: t for t in case.tasks.all()}
    # handover-note: done and submitted, waiting for the receiver (its approver).
    note = tasks["handover-note"]
    ho_actions.update_task_work(note, acting_user=leaver, done_sub_items=range(len(note.sub_items)))
    ho_actions.submit_task(note, acting_user=leaver)
    # project-docs: a reusable document, accepted by the receiver → the knowledge map.
    docs = tasks["project-docs"]
    ho_actions.upload_document(case, _pdf("架构.pdf"), acting_user=leaver, task=docs, reusable=True)
    ho_actions.submit_task(docs, acting_user=leaver)
    ho_actions.accept_task(docs, acting_user=receiver)
    # work-files: a document uploaded, ready to submit.
    doc = ho_actions.upload_document(case, _pdf(), acting_user=leaver, task=tasks["work-files"])
    external = ho_actions.add_task(
        case,
        {"title": "客户确认新对接人", "evidence_kind": "external", "receiver_id": peer.pk},
        acting_user=admin,
    )
    w.ids.update(
        {
            "ho:case": case.pk,
            "ho:note": note.pk,
            "ho:work": tasks["work-files"].pk,
            "ho:assets": tasks["assets"].pk,  # still to do
            "ho:repositories": tasks["repositories"].pk,
            "ho:external": external.pk,
            "ho:document": doc.pk,
            "ho:knowledge": KnowledgeItem.objects.get(source_task=docs).pk,
            "ho:root": ChecklistTemplate.objects.get(parent=None, name="集团通用交接清单").pk,
            "ho:pack": ChecklistTemplate.objects.get(position_family__code="engineering").pk,
            "ho:peer": peer.pk,
            "ho:head": w.users["head.rd"].employee_id or 0,
        }
    )
    w.ids["ho:change"] = w.fresh_change()
    w.link = w.fresh_link()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build_notify(w: World) -> None:
    """An email channel of the target's unit (its SMTP port refuses connections, so a test
    message fails at once) and a named group default rule."""
    admin = w.users["admin"]
    channel = notify_actions.create_channel(
        {
            "name": "云软件邮件",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "business_unit_id": w.ids["bu"],
            "settings": {
                "host": "127.0.0.1",
                "port": _closed_port(),
                "from_email": "hr@hx.example",
            },
        },
        {},
        acting_user=admin,
    )
    rule = notify_actions.create_rule(
        {
            "name": "默认：逾期提醒负责人",
            "offset": 1,
            "repeat": "daily",
            "audience": "owner",
            "channels": ["inapp", "email"],
            "mode": "immediate",
        },
        acting_user=admin,
    )
    w.ids.update({"nt:channel": channel.pk, "nt:rule": rule.pk})


def _build_integrations(w: World) -> None:
    """A group-wide webhook subscription to a port that refuses connections."""
    sub, _secret = integrations_actions.create_subscription(
        w.subscription_body(), acting_user=w.users["admin"]
    )
    w.ids["ig:subscription"] = sub.pk


def _build_revocations(w: World) -> None:
    """A group-wide SCIM system (its port refuses connections) and the target's revocation."""
    w.ho("case")
    body = w.system_body()
    secrets = body.pop("secrets")
    system = system_actions.create_system(body, secrets, acting_user=w.users["admin"])
    revocations.plan(ExitCase.objects.get(pk=w.ho("case")))
    rev = Revocation.objects.get(case_id=w.ho("case"), system=system)
    w.ids.update({"rv:system": system.pk, "rv:revocation": rev.pk})


def _build_business(w: World) -> None:
    """A group-wide CRM that pulls business data (its port refuses connections)."""
    w.ho("case")
    system = ConnectedSystem.objects.create(
        name="CRM",
        kind="rest",
        base_url=f"http://127.0.0.1:{_closed_port()}/api",
        internal=True,
        pulls_data=True,
        config={"steps": {"test": [{"path": "/ping"}]}},
    )
    w.ids["bz:system"] = system.pk


# ---- settlements of the target's cases (compliance)
SETTLEMENT_READ = frozenset({"admin", "hrbp.cloud", "finance", "auditor", "employee"})


def _settlement(w: World, kind: str = "case", state: str = "approved") -> int:
    """A case of the target with a settlement in `state` ("approved" or "draft"); kind
    "cleared" is a fresh cleared case (so a release always finds one to release)."""
    from baton.compliance import actions_settlement
    from baton.compliance.models.rules import CityParameter

    target = Employee.objects.select_related("work_city").get(pk=w.target.pk)
    CityParameter.objects.get_or_create(
        city_code=target.work_city.code,
        effective_from=dt.date(2000, 1, 1),
        defaults={"avg_monthly_wage": 12000, "min_monthly_wage": 2690, "confidence": "R"},
    )
    case = ExitCase.objects.get(pk=w.fresh_case("cleared") if kind == "cleared" else w.ho("case"))
    admin = w.users["admin"]
    inputs = {"avg_wage_12m": "30000", "avg_wage_12m_excl_ot": "28000"}
    s = actions_settlement.calculate(
        case, {**inputs, "previous_month_wage": "30000"}, acting_user=admin
    )
    if state == "approved":
        actions_settlement.approve(s, acting_user=admin)
    return case.pk


def _nc_payment(w: World) -> dict[str, int]:
    """The target's case with an activated non-compete, and its next unpaid month."""
    from baton.compliance import actions_settlement
    from baton.compliance.models.settlement import NonCompetePayment, Settlement

    if "st:nc" not in w.ids:
        case_id = _settlement(w, state="draft")
        s = Settlement.objects.get(case_id=case_id)
        actions_settlement.decide_non_compete(
            s, acting_user=w.users["admin"], decision="activate", months=24, eligibility="核心"
        )
        w.ids["st:nc"] = case_id
    p = NonCompetePayment.objects.filter(
        non_compete__settlement__case_id=w.ids["st:nc"], paid_at__isnull=True
    ).order_by("seq")[0]
    return {"case_id": w.ids["st:nc"], "seq": p.seq}


Body = Callable[[World, str], dict[str, Any]]
Path = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    body: Body | None = None
    path: Path | None = None
    public: bool = False  # no account needed: anonymous callers are allowed too
    multipart: bool = False  # the body is a form with files
    audited: bool = True  # an allowed change writes an audit entry (reading marks do not)


def _by(key: str) -> Path:
    return lambda w, _role: {"item_id": w.ids[key]}


def _ho(param: str, key: str) -> Path:
    return lambda w, _role: {param: w.ho(key)}


def _fresh(kind: str) -> Path:
    return lambda w, _role: {"case_id": w.fresh_case(kind)}


def _code(prefix: str) -> Body:
    return lambda w, _r: {"code": f"{prefix}{w.n()}", "name": f"测试{w.n()}"}


# ---- exit interviews (compliance): built on first use


def _iv_open(w: World) -> int:
    """An open exit interview on the target's case (started by HR)."""
    if "iv:open" not in w.ids:
        from baton.compliance import actions_interviews as iv_actions

        case = ExitCase.objects.get(pk=w.ho("case"))
        w.ids["iv:open"] = iv_actions.start_interview(case, acting_user=w.users["admin"]).pk
    return w.ids["iv:open"]


def _iv_fresh(w: World) -> int:
    """A new open interview on a fresh approved case of the target."""
    from baton.compliance import actions_interviews as iv_actions

    case = ExitCase.objects.get(pk=w.fresh_case("approved"))
    return iv_actions.start_interview(case, acting_user=w.users["admin"]).pk


def _iv_bank_with_change(w: World) -> int:
    """The built-in group bank with an unpublished draft change."""
    from baton.compliance import actions_interviews as iv_actions

    bank = iv_actions.ensure_default_bank()
    extra = {"key": f"matrix_{w.n()}", "text": "矩阵问题", "kind": "text"}
    iv_actions.save_bank_draft(
        bank, acting_user=w.users["admin"], questions=[*bank.draft[:9], extra]
    )
    return bank.pk


# ---- termination terms (compliance)


def _terms_case(w: World) -> dict[str, int]:
    """A fresh approved case of the target with its termination terms recorded by HR."""
    from baton.compliance import actions_terms

    case = ExitCase.objects.get(pk=w.fresh_case("approved"))
    data = {"termination_type": "EE_NOTICE", "notice_date": dt.date.today()}
    actions_terms.record_terms(case, data, acting_user=w.users["admin"])
    return {"case_id": case.pk}


# ---- separation certificates and statutory deadlines (compliance)


def _certificate(w: World) -> int:
    """A certificate issued (by group HR) on the target's case."""
    if "ct:cert" not in w.ids:
        from baton.compliance import actions_certificates as ct_actions

        case = ExitCase.objects.get(pk=w.fresh_case("approved"))
        w.ids["ct:cert"] = ct_actions.issue_certificate(case, acting_user=w.users["admin"]).pk
    return w.ids["ct:cert"]


def _open_deadline(w: World) -> int:
    """An open statutory deadline (the unemployment filing) of a fresh approved case."""
    from baton.compliance.models import StatutoryDeadline

    case_id = w.fresh_case("approved")
    return StatutoryDeadline.objects.get(case_id=case_id, kind="unemployment_filing").pk


IV_ANSWERS = {"primary_reason": "compensation", "satisfaction": 3, "manager_support": 4}


EXPECTED: dict[str, Rule] = {
    # ---- compliance: separation certificates (HR and the leaver) and statutory deadlines
    "list_case_certificates": Rule(LEAVER_OR_HR, path=_ho("case_id", "case")),
    "issue_certificate": Rule(HR_CLOUD, body=lambda w, r: {}, path=_fresh("approved")),
    "download_certificate": Rule(
        LEAVER_OR_HR, path=lambda w, r: {"certificate_id": _certificate(w)}
    ),
    "list_case_deadlines": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "complete_deadline": Rule(
        HR_CLOUD,
        body=lambda w, r: {"evidence_note": f"回执{w.n()}"},
        path=lambda w, r: {"deadline_id": _open_deadline(w)},
    ),
    # ---- compliance: termination terms (HR records; who sees the case reads them) and rules
    "get_termination_terms": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "record_termination_terms": Rule(
        HR_CLOUD,
        body=lambda w, r: {"termination_type": "EE_NOTICE", "notice_date": str(dt.date.today())},
        path=_fresh("approved"),
    ),
    "set_protection": Rule(
        HR_CLOUD, body=lambda w, r: {"flags": {"pregnancy": True}}, path=lambda w, r: _terms_case(w)
    ),
    "record_union_notice": Rule(
        HR_CLOUD,
        body=lambda w, r: {"notified_on": str(dt.date.today()), "evidence": "工会回执"},
        path=lambda w, r: _terms_case(w),
    ),
    "agree_early_release": Rule(
        HR_CLOUD,
        body=lambda w, r: {"agreed_on": str(dt.date.today()), "note": "书面协议"},
        path=lambda w, r: _terms_case(w),
    ),
    "get_case_rules": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "list_city_parameters": Rule(STRUCTURE_VIEW),
    "save_city_parameter": Rule(
        ADMIN,
        body=lambda w, r: {"avg_monthly_wage": f"{12000 + w.n()}.00", "min_monthly_wage": "2500"},
        path=lambda w, r: {"city_code": "SZ", "effective_from": "2030-01-01"},
    ),
    # ---- compliance: settlements (HR acts; finance records payments; the leaver reads it
    # once approved; the head of R&D and IT, who see the case, do not see the pay)
    "get_settlement": Rule(SETTLEMENT_READ, path=lambda w, r: {"case_id": _settlement(w)}),
    "calculate_settlement": Rule(
        HR_CLOUD,
        body=lambda w, r: {"note": f"复核{w.n()}", "avg_wage_12m": "30000"},
        path=lambda w, r: {"case_id": _settlement(w)},
    ),
    "approve_settlement": Rule(
        HR_CLOUD, path=lambda w, r: {"case_id": _settlement(w, state="draft")}
    ),
    "release_severance": Rule(
        HR_CLOUD, path=lambda w, r: {"case_id": _settlement(w, kind="cleared")}
    ),
    "decide_non_compete": Rule(
        HR_CLOUD,
        body=lambda w, r: {"decision": "activate", "months": w.n() % 24 + 1, "eligibility": "核心"},
        path=lambda w, r: {"case_id": _settlement(w)},
    ),
    "record_non_compete_payment": Rule(
        HR_CLOUD | {"finance"},
        body=lambda w, r: {"paid_at": dt.date.today().isoformat()},
        path=lambda w, r: _nc_payment(w),
    ),
    "get_me": Rule(ALL),
    "update_me": Rule(ALL, body=lambda w, r: {"time_zone": f"Etc/GMT-{w.n() % 12 + 1}"}),
    "list_tokens": Rule(ALL),
    "create_token": Rule(ALL, body=lambda w, r: {"name": "ci", "scopes": ["org:read"]}),
    "revoke_token": Rule(ALL, path=lambda w, r: {"token_id": w.ids[f"token:{r}"]}),
    "list_users": Rule(ADMIN),
    "get_users": Rule(ADMIN, path=_by("user")),
    "create_users": Rule(
        ADMIN, body=lambda w, r: {"username": f"new{w.n()}", "display_name": "新用户"}
    ),
    "update_users": Rule(
        ADMIN, body=lambda w, r: {"display_name": f"改名{w.n()}"}, path=_by("user")
    ),
    "grant_role": Rule(
        ADMIN, body=lambda w, r: {"role": "it"}, path=lambda w, r: {"user_id": w.ids["user"]}
    ),
    "revoke_role": Rule(ADMIN, path=lambda w, r: {"assignment_id": w.ids["assignment"]}),
    "get_group": Rule(STRUCTURE_VIEW),
    "update_group": Rule(ADMIN, body=lambda w, r: {"name": f"集团{w.n()}"}),
    "list_cities": Rule(STRUCTURE_VIEW),
    "get_cities": Rule(STRUCTURE_VIEW, path=_by("city")),
    "create_cities": Rule(ADMIN, body=_code("X")),
    "update_cities": Rule(ADMIN, body=lambda w, r: {"name": f"新城{w.n()}"}, path=_by("city")),
    "list_business_units": Rule(STRUCTURE_VIEW),
    "get_business_units": Rule(STRUCTURE_VIEW, path=_by("bu")),
    "create_business_units": Rule(ADMIN, body=_code("B")),
    "update_business_units": Rule(
        ADMIN, body=lambda w, r: {"name": f"新事业部{w.n()}"}, path=_by("bu")
    ),
    "list_legal_entities": Rule(STRUCTURE_VIEW),
    "get_legal_entities": Rule(STRUCTURE_VIEW, path=_by("entity")),
    "create_legal_entities": Rule(
        ADMIN, body=lambda w, r: {**_code("E")(w, r), "business_unit_id": w.ids["bu"]}
    ),
    "update_legal_entities": Rule(
        ADMIN, body=lambda w, r: {"name": f"新公司{w.n()}"}, path=_by("entity")
    ),
    "list_departments": Rule(STRUCTURE_VIEW),
    "get_departments": Rule(STRUCTURE_VIEW, path=_by("dept")),
    "create_departments": Rule(
        ADMIN,
        body=lambda w, r: {
            **_code("D")(w, r),
            "business_unit_id": w.ids["bu"],
            "parent_id": w.ids["dept"],
        },
    ),
    "update_departments": Rule(
        ADMIN, body=lambda w, r: {"name": f"新部门{w.n()}"}, path=_by("dept")
    ),
    "list_position_families": Rule(STRUCTURE_VIEW),
    "get_position_families": Rule(STRUCTURE_VIEW, path=_by("family")),
    "create_position_families": Rule(ADMIN, body=_code("f")),
    "list_positions": Rule(STRUCTURE_VIEW),
    "get_positions": Rule(STRUCTURE_VIEW, path=_by("position")),
    "create_positions": Rule(
        ADMIN,
        body=lambda w, r: {"code": f"P{w.n()}", "title": "岗位", "family_id": w.ids["family"]},
    ),
    "update_positions": Rule(
        ADMIN, body=lambda w, r: {"title": f"新岗位{w.n()}"}, path=_by("position")
    ),
    "list_employees": Rule(ALL),
    "list_duplicates": Rule(DUPLICATES_VIEW),
    "merge_duplicates": Rule(HR_CLOUD, body=_duplicate_pair),
    "get_employees": Rule(TARGET_VIEW, path=_by("target")),
    "create_employees": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "name": "新员工",
            "legal_entity_id": w.ids["entity"],
            "department_id": w.ids["dept"],
            "position_id": w.ids["position"],
            "work_city_id": w.ids["city"],
            "hire_date": "2026-01-05",
        },
    ),
    "update_employees": Rule(
        HR_CLOUD, body=lambda w, r: {"phone": f"138{w.n():08d}"}, path=_by("target")
    ),
    "list_contracts": Rule(RECORDS_ANYWHERE),
    "get_contracts": Rule(TARGET_RECORDS, path=_by("contract")),
    "create_contracts": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "legal_entity_id": w.ids["entity"],
            "contract_type": "fixed_term",
            "start_date": "2026-01-01",
            "end_date": "2028-12-31",
            "sequence": 10 + w.n() % 89,
        },
    ),
    "update_contracts": Rule(
        HR_CLOUD,
        body=lambda w, r: {"signed_on": f"2026-02-{w.n() % 28 + 1:02d}"},
        path=_by("contract"),
    ),
    "list_agreements": Rule(RECORDS_ANYWHERE),
    "get_agreements": Rule(TARGET_RECORDS, path=_by("agreement")),
    "create_agreements": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "agreement_type": "nda",
            "signed_on": "2026-01-01",
        },
    ),
    "update_agreements": Rule(
        HR_CLOUD, body=lambda w, r: {"terms": {"note": r}}, path=_by("agreement")
    ),
    "list_lifecycle_events": Rule(RECORDS_ANYWHERE),
    "get_lifecycle_events": Rule(TARGET_RECORDS, path=_by("event")),
    "create_lifecycle_events": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "event_type": "promotion",
            "effective_date": "2026-06-01",
        },
    ),
    "list_audit_entries": Rule(AUDIT_VIEW),
    "get_audit_entry": Rule(AUDIT_TARGET, path=lambda w, r: {"entry_id": w.ids["audit"]}),
    "export_audit_entries": Rule(AUDIT_EXPORT),
    # ---- handover: checklist templates
    "list_templates": Rule(TEMPLATES),
    "get_template": Rule(TEMPLATES, path=_ho("template_id", "pack")),
    "create_template": Rule(TEMPLATE_MANAGE, body=lambda w, r: {"name": f"模板{w.n()}"}),
    "update_template": Rule(
        TEMPLATE_MANAGE,
        body=lambda w, r: {"name": f"研发清单{w.n()}"},
        path=_ho("template_id", "pack"),
    ),
    "save_template_item": Rule(
        TEMPLATE_MANAGE,
        body=lambda w, r: {"title": f"矩阵事项{w.n()}", "due_offset": -2},
        path=lambda w, r: {"template_id": w.ho("pack"), "key": "matrix-item"},
    ),
    "publish_template": Rule(
        TEMPLATE_MANAGE,
        body=lambda w, r: {"note": f"发布{w.n()}"},
        path=lambda w, r: {"template_id": w.pack_with_draft_change()},
    ),
    "propose_template_change": Rule(
        TEMPLATE_PROPOSE,
        body=lambda w, r: {"key": "work-files", "due_offset": -4, "reason": "需要更多时间"},
        path=_ho("template_id", "root"),
    ),
    "list_template_changes": Rule(TEMPLATES),
    "decide_template_change": Rule(
        TEMPLATE_MANAGE,
        body=lambda w, r: {"approve": True},
        path=lambda w, r: {"change_id": w.fresh_change()},
    ),
    # ---- handover: exit cases
    "list_cases": Rule(ALL),
    "get_case": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "open_case": Rule(LEAVER_OR_APPROVER, body=lambda w, r: w.open_body()),
    "submit_case": Rule(LEAVER_OR_APPROVER, path=_fresh("draft")),
    "approve_case": Rule(CASE_APPROVE_TARGET, path=_fresh("submitted")),
    "reveal_case": Rule(allowed=HR_CLOUD, path=_fresh("confidential")),
    "withdraw_case": Rule(
        allowed=LEAVER_OR_HR,
        body=lambda w, r: {"reason": "留任"},
        path=_fresh("submitted"),
    ),
    "cancel_case": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: {"reason": "协商一致"},
        path=_fresh("submitted"),
    ),
    "restore_case": Rule(allowed=HR_CLOUD, path=_fresh("cancelled")),
    "change_last_day": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: {"last_working_day": (LAST_DAY + dt.timedelta(days=w.n())).isoformat()},
        path=_ho("case_id", "case"),
    ),
    "clear_case": Rule(allowed=HR_CLOUD, path=_fresh("clearable")),
    "close_case": Rule(allowed=HR_CLOUD, path=_fresh("cleared")),
    "add_task": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: {"title": f"补充事项{w.n()}"},
        path=_ho("case_id", "case"),
    ),
    # ---- handover: tasks
    "list_tasks": Rule(ALL),
    "get_task": Rule(TASK_TARGET, path=_ho("task_id", "work")),
    "start_task": Rule(OWNER, path=_ho("task_id", "assets")),
    "update_task_work": Rule(
        OWNER, body=lambda w, r: {"note": f"进展{w.n()}"}, path=_ho("task_id", "assets")
    ),
    "submit_task": Rule(OWNER, path=_ho("task_id", "work")),
    "accept_task": Rule(
        APPROVER, body=lambda w, r: {"comment": "可以"}, path=_ho("task_id", "note")
    ),
    "reject_task": Rule(
        APPROVER, body=lambda w, r: {"comment": "缺少联系人电话"}, path=_ho("task_id", "note")
    ),
    "waive_task": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: {"reason": "无需办理"},
        path=lambda w, r: {"task_id": w.undone_task()},
    ),
    "reassign_task": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: w.other_receiver(),
        path=_ho("task_id", "repositories"),
    ),
    # ---- handover: documents
    "list_case_documents": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "list_task_documents": Rule(TASK_TARGET, path=_ho("task_id", "work")),
    "upload_case_document": Rule(
        allowed=HR_CLOUD,
        body=lambda w, r: {"file": _pdf("离职证明.pdf"), "note": "HR"},
        path=_ho("case_id", "case"),
        multipart=True,
    ),
    "upload_task_document": Rule(
        OWNER,
        body=lambda w, r: {"file": _pdf(), "reusable": "true"},
        path=_ho("task_id", "work"),
        multipart=True,
    ),
    "download_document": Rule(TASK_TARGET, path=_ho("document_id", "document")),
    # ---- handover: external confirmations (the two by token need no account)
    "list_confirmations": Rule(TASK_TARGET, path=_ho("task_id", "external")),
    "create_confirmation": Rule(
        allowed=LEAVER_OR_HR,
        body=lambda w, r: {"recipient_name": "某客户", "statement": "确认新的对接人"},
        path=_ho("task_id", "external"),
    ),
    "get_public_confirmation": Rule(
        ALL, path=lambda w, r: {"token": w.pending_link()}, public=True
    ),
    "answer_public_confirmation": Rule(
        ALL,
        body=lambda w, r: {"confirmed": True, "note": "确认"},
        path=lambda w, r: {"token": w.fresh_link()},
        public=True,
    ),
    # ---- handover: knowledge map
    "list_knowledge": Rule(TEMPLATES),
    "get_knowledge": Rule(KNOWLEDGE_TARGET, path=_ho("item_id", "knowledge")),
    # ---- notifications: one's own (not audited: reading is the user's own bookkeeping)
    "list_notifications": Rule(ALL),
    "mark_notifications_read": Rule(ALL, body=lambda w, r: {"ids": None}, audited=False),
    # ---- the delivery log
    "list_deliveries": Rule(DELIVERY_VIEW),
    # ---- reminder rules: a checklist's rules by HR of any unit, the defaults by group admins
    "list_reminder_rules": Rule(NOTIFY_MANAGE),
    "create_reminder_rule": Rule(
        NOTIFY_MANAGE,
        body=lambda w, r: {
            "name": f"规则{w.n()}",
            "template_id": w.ho("pack"),
            "offset": -2,
            "audience": "owner",
            "channels": ["inapp"],
        },
    ),
    "update_reminder_rule": Rule(
        ADMIN,
        body=lambda w, r: {"name": f"默认规则{w.n()}", "offset": w.n() % 5 + 1},
        path=lambda w, r: {"rule_id": w.nt("rule")},
    ),
    "delete_reminder_rule": Rule(NOTIFY_MANAGE, path=lambda w, r: {"rule_id": w.fresh_rule()}),
    # ---- channels: group-wide ones by group admins, a unit's by its HR
    "list_channels": Rule(NOTIFY_MANAGE),
    "create_channel": Rule(CHANNEL_CLOUD, body=lambda w, r: w.channel_body(r)),
    "update_channel": Rule(
        CHANNEL_CLOUD,
        body=lambda w, r: {"name": f"邮件{w.n()}"},
        path=lambda w, r: {"channel_id": w.nt("channel")},
    ),
    "test_channel": Rule(CHANNEL_CLOUD, path=lambda w, r: {"channel_id": w.nt("channel")}),
    # ---- integrations: webhook subscriptions (the matrix's are group-wide: admins' only)
    "list_subscriptions": Rule(INTEGRATIONS_MANAGE),
    "create_subscription": Rule(ADMIN, body=lambda w, r: w.subscription_body()),
    "update_subscription": Rule(
        ADMIN,
        body=lambda w, r: {"name": f"回调{w.n()}", "max_attempts": w.n() % 10 + 2},
        path=lambda w, r: {"sub_id": w.ig("subscription")},
    ),
    "rotate_subscription_secret": Rule(ADMIN, path=lambda w, r: {"sub_id": w.ig("subscription")}),
    "replay_webhooks": Rule(
        ADMIN,
        body=lambda w, r: w.dead_delivery(),
        path=lambda w, r: {"sub_id": w.ig("subscription")},
    ),
    "list_webhook_deliveries": Rule(ADMIN, path=lambda w, r: {"sub_id": w.ig("subscription")}),
    # ---- connected systems (the matrix's are group-wide: admins' only)
    "list_systems": Rule(INTEGRATIONS_MANAGE),
    "create_system": Rule(ADMIN, body=lambda w, r: w.system_body()),
    "get_system": Rule(ADMIN, path=lambda w, r: {"system_id": w.rv("system")}),
    "update_system": Rule(
        ADMIN,
        body=lambda w, r: {"name": f"系统{w.n()}", "revoke_hour": w.n() % 24},
        path=lambda w, r: {"system_id": w.rv("system")},
    ),
    "set_system_secrets": Rule(
        ADMIN,
        body=lambda w, r: {"secrets": {"token": f"t0ken-{w.n()}"}},
        path=lambda w, r: {"system_id": w.rv("system")},
    ),
    "test_system": Rule(ADMIN, path=lambda w, r: {"system_id": w.rv("system")}),
    "list_system_calls": Rule(ADMIN, path=lambda w, r: {"system_id": w.rv("system")}),
    # A system's tokens: issued and revoked by who manages the system (never by a token).
    "list_system_tokens": Rule(ADMIN, path=lambda w, r: {"system_id": w.rv("system")}),
    "issue_system_token": Rule(
        ADMIN,
        body=lambda w, r: {"name": f"crm{w.n()}", "scopes": ["business:push"]},
        path=lambda w, r: {"system_id": w.rv("system")},
    ),
    "revoke_system_token": Rule(
        ADMIN,
        path=lambda w, r: {"system_id": w.rv("system"), "token_id": w.system_token()},
    ),
    # IT links the accounts of the people in its queue; the system's managers too.
    "link_account": Rule(
        REVOCATION_ACT,
        body=lambda w, r: {"employee_id": w.ids["target"], "login": f"u{w.n()}@hx.example"},
        path=lambda w, r: {"system_id": w.rv("system")},
    ),
    # ---- access revocations: IT's evidence, read by IT, HR and auditors of the case
    "list_revocations": Rule(REVOCATIONS_VIEW),
    "get_revocation": Rule(REVOCATION_TARGET, path=lambda w, r: {"rev_id": w.rv("revocation")}),
    "list_revocation_calls": Rule(
        REVOCATION_TARGET, path=lambda w, r: {"rev_id": w.rv("revocation")}
    ),
    "retry_revocation": Rule(
        REVOCATION_ACT | {"hrbp.cloud"}, path=lambda w, r: {"rev_id": w.failed_revocation()}
    ),
    "mark_revocation_manual": Rule(
        REVOCATION_ACT,
        body=lambda w, r: {"note": "已在管理后台手工停用"},
        path=lambda w, r: {"rev_id": w.failed_revocation()},
    ),
    # ---- business data of a case: read by who sees the case; HR requests pulls and pushes
    "request_business_pull": Rule(
        HR_CLOUD, body=lambda w, r: {"system_id": w.bz("system")}, path=_ho("case_id", "case")
    ),
    "list_business_pulls": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "list_business_items": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "push_business_items": Rule(
        HR_CLOUD, body=lambda w, r: w.pushed_records(), path=_ho("case_id", "case")
    ),
    # ---- customers of a case: HR and the leaver's manager hand them over
    "list_case_customers": Rule(
        CASE_APPROVE_TARGET, path=lambda w, r: {"case_id": w.customers_case()}
    ),
    "reassign_case_customers": Rule(
        CASE_APPROVE_TARGET,
        body=lambda w, r: {"strategy": "receiver"},
        path=lambda w, r: {"case_id": w.customers_case()},
    ),
    # Queues the letters; the sending is audited.
    "send_customer_letters": Rule(
        CASE_APPROVE_TARGET,
        body=lambda w, r: {},
        path=lambda w, r: {"case_id": w.customers_case()},
        audited=False,
    ),
    # ---- exit interviews: HR in scope and auditors read answers; the leaver their own open
    # one; who sees the case sees only whether it is done. Bank drafts are not audited (they
    # change nothing until published).
    "list_exit_reasons": Rule(ALL),
    "list_interview_banks": Rule(AUDIT_VIEW),
    "get_interview_bank": Rule(AUDIT_VIEW, path=lambda w, r: {"bank_id": _iv_bank_with_change(w)}),
    "create_interview_bank": Rule(ADMIN, body=lambda w, r: {"name": f"面谈{w.n()}"}, audited=False),
    "save_interview_bank_draft": Rule(
        ADMIN,
        body=lambda w, r: {"questions": [{"key": "why", "text": "原因", "kind": "text"}]},
        path=lambda w, r: {"bank_id": _iv_bank_with_change(w)},
        audited=False,
    ),
    "publish_interview_bank": Rule(
        ADMIN, body=lambda w, r: {}, path=lambda w, r: {"bank_id": _iv_bank_with_change(w)}
    ),
    "list_case_interviews": Rule(CASE_TARGET, path=_ho("case_id", "case")),
    "start_case_interview": Rule(
        HR_CLOUD, body=lambda w, r: {}, path=lambda w, r: {"case_id": w.fresh_case("approved")}
    ),
    "get_interview": Rule(
        HR_CLOUD | {"auditor", "employee"}, path=lambda w, r: {"interview_id": _iv_open(w)}
    ),
    "send_interview_link": Rule(
        HR_CLOUD, body=lambda w, r: {}, path=lambda w, r: {"interview_id": _iv_open(w)}
    ),
    "answer_own_interview": Rule(
        frozenset({"employee"}),
        body=lambda w, r: {"answers": IV_ANSWERS},
        path=lambda w, r: {"interview_id": _iv_fresh(w)},
    ),
    "complete_interview": Rule(
        HR_CLOUD,
        body=lambda w, r: {"answers": IV_ANSWERS, "regrettable": True, "rehire_eligible": True},
        path=lambda w, r: {"interview_id": _iv_fresh(w)},
    ),
    "interview_reason_counts": Rule(AUDIT_VIEW),
    # ---- data migration: HR and group admins import; a batch is seen by its uploader (here
    # the group admin) and group admins only. Commit and validate queue a task (audited there).
    "list_import_batches": Rule(IMPORTERS),
    "upload_import_batch": Rule(
        IMPORTERS,
        body=lambda w, r: {"kind": "employees", "file": _import_file()},
        multipart=True,
    ),
    "get_import_batch": Rule(ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}),
    "list_import_problems": Rule(ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}),
    "list_import_changes": Rule(ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}),
    "commit_import_batch": Rule(
        ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}, audited=False
    ),
    "validate_import_batch": Rule(
        ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}, audited=False
    ),
    "discard_import_batch": Rule(ADMIN, path=lambda w, r: {"batch_id": _import_batch(w)}),
    "list_import_mappings": Rule(IMPORTERS),
    "save_import_mapping": Rule(
        IMPORTERS,
        body=lambda w, r: {
            "name": f"映射{w.n()}",
            "kind": "employees",
            "spec": {"columns": {"name": "name"}},
        },
    ),
}


def _import_file() -> SimpleUploadedFile:
    """The first rows of the demo's employees as exported (a valid, unchanged import)."""
    from baton.imports import exports

    admin = User.objects.get(username="admin")
    lines = list(itertools.islice(exports.csv_lines("employees", admin), 3))
    return SimpleUploadedFile("employees.csv", "".join(lines).encode(), content_type="text/csv")


def _import_batch(w: World) -> int:
    """A validated import of the group admin's (valid: it changes nothing)."""
    if "imp:batch" not in w.ids:
        from baton.imports import actions as import_actions

        admin = w.users["admin"]
        upload = _import_file()
        batch = import_actions.upload(
            upload, kind="employees", file_name=upload.name, acting_user=admin
        )
        w.ids["imp:batch"] = import_actions.validate(batch, acting_user=admin).pk
    return w.ids["imp:batch"]


def operations() -> list[tuple[str, str, str]]:
    """(operation id, method, path template) for every endpoint in the API."""
    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ops.append((op["operationId"], method.upper(), path))
    return sorted(ops)


OPERATIONS = operations()


def test_every_endpoint_has_a_rule() -> None:
    ids = {op for op, _m, _p in OPERATIONS}
    assert ids - set(EXPECTED) == set(), "endpoints without an authorization rule"
    assert set(EXPECTED) - ids == set(), "rules for endpoints that no longer exist"
    # Every API URL the router serves is in the schema, so nothing escapes the matrix.
    served = {str(p.pattern) for p in api.urls[0]} - {"openapi.json", "docs", ""}
    assert len(served) == len({p for _o, _m, p in OPERATIONS})


@pytest.fixture
def world(users: dict[str, User]) -> World:
    employee_user = users["employee"]
    target = Employee.objects.get(pk=employee_user.employee_id)
    w = World(users=users, target=target)
    admin = users["admin"]
    # An audit entry about the target (scoped to its business unit) to read.
    org_actions.update_employee(target, {"phone": "13900000000"}, acting_user=admin)
    w.ids.update(
        target=target.pk,
        user=employee_user.pk,
        city=target.work_city_id,
        bu=target.business_unit_id,
        entity=target.legal_entity_id,
        dept=target.department_id,
        position=target.position_id,
        family=Position.objects.get(pk=target.position_id).family_id,
        contract=target.contracts.order_by("id").first().pk,  # type: ignore[union-attr]
        agreement=target.agreements.order_by("id").first().pk,  # type: ignore[union-attr]
        event=LifecycleEvent.objects.filter(employee=target).order_by("id").first().pk,  # type: ignore[union-attr]
        audit=AuditEntry.objects.filter(subject_type="org.employee", subject_id=str(target.pk))
        .latest("id")
        .pk,
        assignment=RoleAssignment.objects.get(user=users["it"]).pk,
    )
    for role, user in users.items():
        token, _raw = access_actions.create_token(user, "mine", ["org:read"], acting_user=user)
        w.ids[f"token:{role}"] = token.pk
    assert all(
        m.objects.exists()
        for m in (City, BusinessUnit, LegalEntity, Department, PositionFamily, ApiToken)
    )
    return w


# Admin last: its allowed deletes (revoke role) must not pre-empt others' denials.
ROLE_ORDER = [*sorted(ALL - {"admin"}), "admin"]


def _call(
    rule: Rule, method: str, path: str, role: str | None, world: World, client_as: Any
) -> tuple[int, str, int]:
    """Call the endpoint as `role`: (status, a label for failures, audit entries before)."""
    url = path.format(**(rule.path(world, role or "admin") if rule.path else {}))
    body = rule.body(world, role or "admin") if rule.body else None
    client = client_as(role)
    before = AuditEntry.objects.count()
    kwargs: dict[str, Any] = {}
    if body is not None and rule.multipart:
        kwargs = {"data": encode_multipart(BOUNDARY, body), "content_type": MULTIPART_CONTENT}
    elif body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    response = client.generic(method, url, **kwargs)
    status = response.status_code
    content = (
        b"".join(response.streaming_content)
        if response.streaming  # type: ignore[attr-defined]
        else response.content
    )
    return status, f"{method} {url} as {role or 'anonymous'} → {status} {content[:300]!r}", before


@pytest.mark.parametrize(("op_id", "method", "path"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_matrix(op_id: str, method: str, path: str, world: World, client_as: Any) -> None:
    rule = EXPECTED[op_id]
    for role in [None, *ROLE_ORDER]:
        status, label, before = _call(rule, method, path, role, world, client_as)
        if role is None and not rule.public:
            assert status == 401, label
        elif role is None or role in rule.allowed:
            assert 200 <= status < 300, label
            if method != "GET" and rule.audited:
                assert AuditEntry.objects.count() > before, f"{label}: not audited"
        else:
            assert status in (403, 404), label
            if method != "GET":
                assert AuditEntry.objects.count() == before, f"{label}: denied but wrote"


# ---- a hidden pre-resignation handover: seen only by those who may approve the exit

HIDDEN_CASE_READS: list[tuple[str, str]] = [
    ("GET", "/api/handover/cases/{case}"),
    ("GET", "/api/handover/tasks/{it_task}"),
    ("GET", "/api/handover/tasks/{finance_task}"),
    ("GET", "/api/handover/tasks/{received}"),
    ("GET", "/api/handover/cases/{case}/documents"),
    ("GET", "/handover/cases/{case}/"),
    ("GET", "/handover/tasks/{it_task}/"),
]
HIDDEN_CASE_WRITES: list[tuple[str, str]] = [
    ("POST", "/api/handover/tasks/{it_task}/start"),
    ("PATCH", "/api/handover/tasks/{it_task}/work"),
    ("POST", "/api/handover/tasks/{finance_task}/start"),
    ("POST", "/api/handover/tasks/{received}/start"),
]


@pytest.fixture
def hidden_case(world: World) -> dict[str, int]:
    """The target's confidential pre-resignation handover, approved by HR, not revealed (the
    peer is the successor, so receives items)."""
    packs.install(acting_user=world.users["admin"])
    hr = world.users["hrbp.cloud"]
    peer = Employee.objects.get(pk=world.users["receiver"].employee_id)
    case = ho_actions.open_case(
        world.target,
        acting_user=hr,
        exit_type="resignation",
        last_working_day=LAST_DAY,
        confidential=True,
        successor=peer,
        submit=True,
    )
    case = ho_actions.approve_case(case, acting_user=hr)
    received = case.tasks.filter(receiver=peer).exclude(owner_queue__gt="").first()
    assert received is not None
    return {
        "case": case.pk,
        "it_task": case.tasks.filter(owner_queue="it").first().pk,  # type: ignore[union-attr]
        "finance_task": case.tasks.filter(owner_queue="finance").first().pk,  # type: ignore[union-attr]
        "received": received.pk,
    }


@pytest.mark.parametrize("role", sorted(ALL))
def test_hidden_case_is_seen_only_by_who_may_approve_it(
    role: str, hidden_case: dict[str, int], world: World, client_as: Any
) -> None:
    """Every read of the case or its tasks — by id, in lists, through a queue, as a receiver —
    answers as if it did not exist, and every write is refused without writing, for everyone
    but those who may approve the exit; the leaver's record still says active."""
    client = client_as(role)
    may_know = role in CASE_APPROVE_TARGET
    for method, path in HIDDEN_CASE_READS:
        status = client.generic(method, path.format(**hidden_case)).status_code
        label = f"{method} {path} as {role} → {status}"
        # (403 only where the role has no right to such reads at all, saying nothing.)
        assert (status == 200) if may_know else (status in (403, 404)), label
    listed = client.get(f"/api/handover/tasks?case={hidden_case['case']}&limit=500")
    if listed.status_code == 200:
        assert (listed.json()["count"] > 0) == may_know, role
    cases = client.get("/api/handover/cases?limit=500")
    if cases.status_code == 200:
        ids = {c["id"] for c in cases.json()["items"]}
        assert (hidden_case["case"] in ids) == may_know, role
    for method, path in HIDDEN_CASE_WRITES:
        before = AuditEntry.objects.count()
        body = json.dumps({"note": "矩阵"}) if method == "PATCH" else None
        url = path.format(**hidden_case)
        response = client.generic(method, url, body or "", content_type="application/json")
        if not may_know:
            assert response.status_code in (403, 404), f"{method} {url} as {role}"
            assert AuditEntry.objects.count() == before, f"{method} {url} as {role}: wrote"
    employee = client.get(f"/api/org/employees/{world.target.pk}")
    if employee.status_code == 200:
        assert employee.json()["status"] == "active", role


# ---- one rule for the page and the API: what may be done to a case or a task, and by whom

OP_URL = re.compile(r'(?:action|formaction)="/handover/(cases|tasks)/(\d+)/([a-z-]+)/"')


def _page_ops(html: str) -> set[str]:
    """The operations a page offers as buttons (forms posting to an operation's URL)."""
    return {op.replace("-", "_") for _kind, _pk, op in OP_URL.findall(html)} - {"sub_items"}


@pytest.mark.parametrize("role", sorted(ALL))
def test_allowed_ops_on_the_api_are_the_buttons_on_the_page(
    role: str, world: World, client_as: Any
) -> None:
    """`allowed_ops` of a case and of its tasks (API) is exactly what the case page and the
    task pages show as buttons, for every demo role (both come from rules.case_ops/task_ops)."""
    _build_handover(world)
    client = client_as(role)
    case_id = world.ids["ho:case"]
    api_case = client.get(f"/api/handover/cases/{case_id}")
    page = client.get(f"/handover/cases/{case_id}/")
    assert (api_case.status_code == 200) == (page.status_code == 200), role
    if api_case.status_code == 200:
        assert set(api_case.json()["allowed_ops"]) == _page_ops(page.content.decode()), role
    for key in ("ho:note", "ho:work", "ho:assets", "ho:external"):
        task_id = world.ids[key]
        api_task = client.get(f"/api/handover/tasks/{task_id}")
        page = client.get(f"/handover/tasks/{task_id}/")
        assert (api_task.status_code == 200) == (page.status_code == 200), (role, key)
        if api_task.status_code != 200:
            continue
        # The sub-items form is always shown (read-only without the right to work).
        allowed = set(api_task.json()["allowed_ops"]) - {"subitems"}
        assert allowed == _page_ops(page.content.decode()), (role, key)


def test_the_leaver_sees_and_has_only_their_own_work(world: World, client_as: Any) -> None:
    _build_handover(world)
    leaver = client_as("employee")
    case = leaver.get(f"/api/handover/cases/{world.ids['ho:case']}").json()
    assert set(case["allowed_ops"]) <= {"submit", "withdraw"}
    work = leaver.get(f"/api/handover/tasks/{world.ids['ho:work']}").json()
    assert {"submit", "note", "upload"} <= set(work["allowed_ops"])
    it_task = HandoverTask.objects.filter(case_id=world.ids["ho:case"], owner_queue="it").first()
    assert it_task is not None
    assert (
        client_as("employee").get(f"/api/handover/tasks/{it_task.pk}").json()["allowed_ops"] == []
    )


def test_a_leaver_cannot_act_on_someone_elses_task_via_the_api(
    world: World, client_as: Any
) -> None:
    """Queue work and acceptance on one's own exit belong to others, through the API as on the
    page: even a leaver named as an item's approver does not accept or reject it (the page
    refused this before; the action now refuses it for the API too)."""
    _build_handover(world)
    leaver_user = world.users["employee"]
    leaver = client_as("employee")
    it_task = HandoverTask.objects.filter(case_id=world.ids["ho:case"], owner_queue="it").first()
    assert it_task is not None
    note = HandoverTask.objects.get(pk=world.ids["ho:note"])
    # Test set-up only: name the leaver as the approver of a submitted item of their exit.
    HandoverTask.objects.filter(pk=note.pk).update(approver_user=leaver_user, approver=None)
    HandoverTask.objects.filter(pk=note.pk).update(submitted_by=world.users["admin"])
    attempts = [
        ("POST", f"/api/handover/tasks/{it_task.pk}/start", None),
        ("PATCH", f"/api/handover/tasks/{it_task.pk}/work", {"note": "x"}),
        ("POST", f"/api/handover/tasks/{note.pk}/accept", {"comment": "ok"}),
        ("POST", f"/api/handover/tasks/{note.pk}/reject", {"comment": "no"}),
        ("POST", f"/api/handover/tasks/{note.pk}/waive", {"reason": "x"}),
    ]
    for method, url, body in attempts:
        before = AuditEntry.objects.count()
        response = leaver.generic(
            method, url, json.dumps(body or {}), content_type="application/json"
        )
        assert response.status_code in (403, 404), f"{method} {url}: {response.content[:200]!r}"
        assert AuditEntry.objects.count() == before, f"{method} {url}: wrote"
    page = leaver.post(f"/handover/tasks/{note.pk}/accept/", {"decision-comment": "ok"})
    assert page.status_code == 403
    assert HandoverTask.objects.get(pk=note.pk).state == "submitted"
