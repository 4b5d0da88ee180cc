"""Demo exit cases: a dozen showcase cases in every state (including a confidential
pre-resignation handover), made through the real actions by the real people involved; and,
for scale runs, open cases in bulk (10% of the workforce, ~30 tasks each)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from baton.access.models import Role, User
from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.core.workdays import add_working_days
from baton.handover import actions, packs
from baton.handover.models import (
    CaseState,
    EvidenceKind,
    ExitCase,
    HandoverTask,
    TaskState,
)
from baton.handover.templates_logic import compose_checklist
from baton.org.models import Employee, EmployeeStatus, Group


def person_user(employee: Employee) -> User:
    """The login of an employee (created for the demo, password unusable: SSO in real life)."""
    user = User.objects.filter(employee=employee).first()
    if user is None:
        user = User(
            username=employee.employee_number.lower(),
            display_name=employee.name,
            employee=employee,
            email=employee.email,
        )
        user.set_unusable_password()
        user.save()
        user.role_assignments.create(role=Role.EMPLOYEE)
    return user


def _queue_user(queue: str) -> User:
    return User.objects.get(username={"it": "it", "finance": "finance"}.get(queue, "admin"))


def _owner_user(task: HandoverTask) -> User:
    if task.owner_id:
        return person_user(task.owner)  # type: ignore[arg-type]
    if task.owner_user_id:
        return task.owner_user  # type: ignore[return-value]
    return _queue_user(task.owner_queue)


def _approver_user(task: HandoverTask) -> User:
    if task.approver_id:
        return person_user(task.approver)  # type: ignore[arg-type]
    if task.approver_user_id:
        return task.approver_user  # type: ignore[return-value]
    return _queue_user(task.approver_queue)


def _do(task: HandoverTask, until: str) -> None:
    """Work one task through its states as its real owner and approver would."""
    owner = _owner_user(task)
    if task.evidence_kind == EvidenceKind.FILE:
        body = f"{task.title}\n{task.case.employee.name} 交接资料（演示）\n".encode()
        actions.upload_document(
            task.case,
            SimpleUploadedFile(f"{task.key}.txt", body, content_type="text/plain"),
            acting_user=owner,
            task=task,
            reusable=task.reusable,
            note="演示文件",
        )
    elif task.evidence_kind == EvidenceKind.CHECKLIST:
        actions.update_task_work(
            task, acting_user=owner, done_sub_items=range(len(task.sub_items)), note="已逐项核对。"
        )
    elif task.evidence_kind == EvidenceKind.EXTERNAL:
        _conf, raw = actions.create_confirmation(
            task,
            acting_user=owner,
            recipient_name="上海明远贸易有限公司 · 采购部 李经理",
            recipient_email="li@mingyuan.example",
            statement=f"确认自 {task.case.last_working_day} 起由新的对接人负责贵司业务。",
        )
        actions.answer_confirmation(
            raw, confirmed=True, note="已知悉，谢谢。", client_ip="127.0.0.1"
        )
    else:
        actions.start_task(task, acting_user=owner)
    if until == TaskState.IN_PROGRESS:
        return
    actions.submit_task(task, acting_user=owner)
    if until == TaskState.ACCEPTED:
        approver = _approver_user(task)
        if approver.pk == owner.pk:
            # One queue owns and approves: a colleague in it accepts, never the submitter.
            bu_hr = {"C": "hrbp.cloud", "D": "hrbp.devices"}.get(
                task.case.business_unit.code, "admin"
            )
            approver = User.objects.get(username="admin" if owner.username != "admin" else bu_hr)
        actions.accept_task(task, acting_user=approver, comment="验收通过")


def _progress(case: ExitCase, accepted: int, submitted: int, started: int) -> None:
    # Items a connected system completes (access revocation) are left to it.
    tasks = list(
        case.tasks.exclude(evidence_kind=EvidenceKind.SYSTEM)
        .select_related("case__employee", "owner", "approver")
        .order_by("sort")
    )
    plan = (
        [TaskState.ACCEPTED] * accepted
        + [TaskState.SUBMITTED] * submitted
        + [TaskState.IN_PROGRESS] * started
    )
    for task, until in zip(tasks, plan, strict=False):
        task.refresh_from_db()
        _do(task, until)


def _pick(pool: list[Employee], **where: Any) -> Employee:
    for e in pool:
        if all(_attr(e, k) == v for k, v in where.items()):
            pool.remove(e)
            return e
    return pool.pop(0)


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        obj = getattr(obj, part)
    return obj


def showcase(*, log: Callable[[str], None] = print) -> dict[str, int]:
    """Cases in every state, made through the actions."""
    admin = User.objects.get(username="admin")
    hr = {
        "C": User.objects.get(username="hrbp.cloud"),
        "D": User.objects.get(username="hrbp.devices"),
    }
    packs.install(acting_user=admin)
    today = timezone.localdate()
    taken = set(User.objects.exclude(employee=None).values_list("employee_id", flat=True))
    pool = list(
        Employee.objects.filter(status__in=["active", "probation"], manager__isnull=False)
        .exclude(pk__in=taken)
        .exclude(headed_departments__isnull=False)
        .select_related("position__family", "business_unit", "department")
        .order_by("employee_number")
    )
    receiver = User.objects.get(username="receiver").employee
    rd_head = User.objects.get(username="head.rd").employee
    rd_dept = rd_head.headed_departments.order_by("path").first() if rd_head else None
    rd_path = rd_dept.path if rd_dept else "/"

    def day(n: int) -> dt.date:
        return add_working_days(today, n, "CN")

    def resign(emp: Employee, last: dt.date, reason: str, **kw: Any) -> ExitCase:
        return actions.open_case(
            emp,
            acting_user=person_user(emp),
            exit_type="resignation",
            last_working_day=last,
            reason=reason,
            submit=True,
            **kw,
        )

    def hr_of(emp: Employee) -> User:
        return hr.get(emp.business_unit.code, admin)

    made: dict[str, int] = {}
    rd_people = [e for e in pool if e.department.path.startswith(rd_path)]
    # Waiting for the R&D head's approval (log in as head.rd to approve it).
    e = rd_people[0]
    pool.remove(e)
    resign(
        e, day(22), "个人职业发展，拟加入创业公司。", desired_last_day=day(20), successor=receiver
    )
    # In handover, with the demo receiver receiving; some work done, some overdue.
    e = rd_people[1]
    pool.remove(e)
    c = resign(e, day(3), "家庭原因需回老家发展。", successor=receiver)
    assert c.employee.manager is not None
    c = actions.approve_case(c, acting_user=person_user(c.employee.manager))
    _progress(c, accepted=2, submitted=2, started=2)
    # Sales: submitted; and one deep in handover with a customer's confirmation.
    resign(
        _pick(pool, position__family__code="sales", business_unit__code="D"), day(25), "薪酬原因。"
    )
    s = resign(
        _pick(pool, position__family__code="sales", business_unit__code="C"), day(6), "转行。"
    )
    s = actions.approve_case(s, acting_user=hr_of(s.employee))
    _progress(s, accepted=5, submitted=1, started=1)
    # HR-initiated (no-fault) termination still in draft.
    m = _pick(pool, position__family__code="manufacturing")
    actions.open_case(
        m,
        acting_user=hr_of(m),
        exit_type="employer_no_fault",
        last_working_day=day(30),
        reason="岗位调整，协商未果（演示）",
    )
    # Approved, not started.
    a = resign(_pick(pool, business_unit__code="M"), day(15), "读研深造。")
    actions.approve_case(a, acting_user=hr_of(a.employee))
    # Cleared and closed.
    for final in ("cleared", "closed"):
        x = resign(_pick(pool, business_unit__code="C"), today, "个人原因。")
        x = actions.approve_case(x, acting_user=hr_of(x.employee))
        n = x.tasks.exclude(evidence_kind=EvidenceKind.SYSTEM).count()
        _progress(x, accepted=n - 2, submitted=0, started=0)
        for t in x.tasks.exclude(state=TaskState.ACCEPTED):
            actions.waive_task(t, acting_user=hr_of(x.employee), reason="不适用（演示）")
        if final == "closed":
            actions.close_case(x, acting_user=hr_of(x.employee))
    # Withdrawn by the employee; cancelled by HR.
    w = resign(_pick(pool, business_unit__code="D"), day(20), "拟出国。")
    actions.withdraw_case(w, acting_user=person_user(w.employee), reason="公司挽留，决定留任。")
    k = resign(_pick(pool, business_unit__code="M"), day(20), "个人原因。")
    actions.cancel_case(k, acting_user=hr_of(k.employee), reason="重复提交，已合并处理。")
    # A confidential pre-resignation handover (预离职交接), hidden from the leaver.
    p = _pick(pool, position__family__code="engineering", business_unit__code="C")
    pc = actions.open_case(
        p,
        acting_user=hr["C"],
        exit_type="resignation",
        last_working_day=day(18),
        reason="预计离职，提前安排交接（保密）。",
        confidential=True,
    )
    # Until HR reveals it, only those who may approve the exit see it: IT's and finance's
    # items wait for the reveal.
    pc = actions.approve_case(pc, acting_user=hr["C"])
    for state in CaseState.values:
        made[state] = ExitCase.objects.filter(state=state).count()
    log("cases: " + ", ".join(f"{k} {v}" for k, v in made.items()))
    return made


EXTRA_ITEMS = 22  # per bulk case on top of the checklist: business items pulled in (customers…)


@transaction.atomic
def bulk_cases(count: int, *, seed: int = 7, log: Callable[[str], None] = print) -> int:
    """Open cases in handover for `count` people, with their checklist tasks plus business
    items (≈30 tasks per case), in bulk — for scale runs — audited as one bulk-load entry."""
    rng = random.Random(seed)  # noqa: S311 — demo data, not security
    admin = User.objects.get(username="admin")
    today = timezone.localdate()
    busy = set(ExitCase.objects.values_list("employee_id", flat=True))
    taken = set(User.objects.exclude(employee=None).values_list("employee_id", flat=True))
    people = list(
        Employee.objects.filter(status__in=["active", "probation"], manager__isnull=False)
        .exclude(pk__in=busy | taken)
        .select_related("position", "department", "legal_entity")
        .order_by("id")[: count * 3]
    )
    rng.shuffle(people)
    people = people[:count]
    checklists: dict[tuple[int, int], tuple[Any, list[dict[str, Any]]]] = {}
    cases: list[ExitCase] = []
    for emp in people:
        key = (emp.position.family_id, emp.legal_entity_id)
        if key not in checklists:
            versions, items = compose_checklist(emp, "resignation")
            checklists[key] = (versions[-1] if versions else None, items)
        last = add_working_days(today, rng.randrange(-5, 40), "CN")
        cases.append(
            ExitCase(
                employee=emp,
                business_unit_id=emp.business_unit_id,
                department_id=emp.department_id,
                legal_entity_id=emp.legal_entity_id,
                exit_type="resignation",
                reason="批量演示",
                last_working_day=last,
                state=CaseState.HANDOVER,
                template_version=checklists[key][0],
                opened_by=admin,
                submitted_at=timezone.now(),
                approved_at=timezone.now(),
            )
        )
    ExitCase.objects.bulk_create(cases, batch_size=2000)
    tasks: list[HandoverTask] = []
    total = 0
    for case in cases:
        emp = case.employee
        items = checklists[(emp.position.family_id, emp.legal_entity_id)][1]
        rows = [
            (
                i["key"],
                i["title"],
                i["category"],
                int(i["due_offset"]),
                i["evidence_kind"],
                i["blocks_clearance"],
            )
            for i in items
        ]
        rows += [
            (f"biz-{n}", f"在办事项交接 #{n}", "business", -rng.randrange(1, 6), "signoff", True)
            for n in range(1, EXTRA_ITEMS + 1)
        ]
        for n, (key, title, category, offset, evidence, blocks) in enumerate(rows):
            r = rng.random()
            state = (
                TaskState.ACCEPTED
                if r < 0.35
                else TaskState.SUBMITTED
                if r < 0.45
                else TaskState.IN_PROGRESS
                if r < 0.65
                else TaskState.TODO
            )
            tasks.append(
                HandoverTask(
                    case=case,
                    key=key,
                    title=title,
                    category=category,
                    owner=emp,
                    receiver_id=emp.manager_id,
                    approver_id=emp.manager_id,
                    due_date=add_working_days(case.last_working_day, offset, "CN"),
                    due_offset=offset,
                    evidence_kind=evidence,
                    blocks_clearance=blocks,
                    state=state,
                    sort=n,
                )
            )
        if len(tasks) >= 20000:
            HandoverTask.objects.bulk_create(tasks, batch_size=5000)
            total += len(tasks)
            tasks.clear()
    HandoverTask.objects.bulk_create(tasks, batch_size=5000)
    total += len(tasks)
    Employee.objects.filter(pk__in=[c.employee_id for c in cases]).update(
        status=EmployeeStatus.DEPARTING
    )  # bulk load: audited as one entry below
    trail.record_many(
        [
            trail.Change(
                AuditEvent.HANDOVER_BULK_LOADED,
                Group.objects.get(),
                extra={"cases": len(cases), "tasks": total, "seed": seed},
            )
        ],
        actor=admin,
    )
    log(f"bulk cases: {len(cases)}, tasks: {total}")
    return len(cases)
