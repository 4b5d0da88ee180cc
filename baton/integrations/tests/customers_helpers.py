"""Building blocks for the customer handover tests: a WeCom system pointed at the local server,
a leaver's customers with their handover tasks (as a pull makes them), colleagues to hand them
to, an email channel on the local SMTP server."""

from __future__ import annotations

from typing import Any

from baton.core.sealed import seal
from baton.handover.models import ExitCase, HandoverTask
from baton.integrations.models import BusinessItem, ConnectedSystem
from baton.integrations.testing.wecom import WecomServer
from baton.org.models import Employee


def wecom_system(server: WecomServer, *, match: str = "employee_number") -> ConnectedSystem:
    system = ConnectedSystem.objects.create(
        name="企业微信",
        kind="wecom",
        base_url=server.url,
        internal=True,
        revokes_access=False,
        pulls_data=True,
        transfers_customers=True,
        config={"corpid": server.corpid, "match": match},
    )
    seal(system, {"secret": server.secret})
    system.save(update_fields=["secrets_blob", "secrets_key_id"])
    return system


def plain_system() -> ConnectedSystem:
    """A CRM that is read from but not written back to."""
    return ConnectedSystem.objects.create(
        name="CRM",
        kind="rest",
        base_url="https://crm.example.com",
        revokes_access=False,
        pulls_data=True,
        transfers_customers=False,
        config={},
    )


def add_customers(
    case: ExitCase,
    system: ConnectedSystem,
    external_ids: list[str] | int,
    *,
    email: bool = True,
    language: str = "",
    prefix: str = "客户",
) -> list[BusinessItem]:
    """Customers of the leaver's, each with its handover task (evidence: the customer's
    confirmation), as a pull creates them."""
    ids = (
        [f"{prefix}-{n:04d}" for n in range(1, external_ids + 1)]
        if isinstance(external_ids, int)
        else external_ids
    )
    start = case.tasks.count()
    tasks = HandoverTask.objects.bulk_create(
        [
            HandoverTask(
                case=case,
                key=f"customer-{system.pk}-{start + n}",
                title=f"客户交接：{prefix}{n:04d}",
                category="customers",
                owner_id=case.employee_id,
                approver_id=case.employee.manager_id,
                due_date=case.last_working_day,
                evidence_kind="external",
                sort=100 + start + n,
            )
            for n in range(len(ids))
        ]
    )
    return BusinessItem.objects.bulk_create(
        [
            BusinessItem(
                case=case,
                system=system,
                kind="customer",
                external_id=eid,
                name=f"{prefix}{n:04d}",
                contact_name=f"联系人{n}",
                contact_email=f"contact-{task.pk}@customer{n}.example" if email else "",
                contact_phone=f"1390000{n:04d}",
                contact_language=language,
                task=task,
            )
            for n, (eid, task) in enumerate(zip(ids, tasks, strict=True), start=1)
        ]
    )


def colleagues(case: ExitCase, count: int, *, exclude: tuple[int, ...] = ()) -> list[Employee]:
    """Active people of the leaver's department (the manager excluded), in name order."""
    people = (
        Employee.objects.filter(department__path__startswith=case.department.path, status="active")
        .exclude(pk__in=[case.employee_id, case.employee.manager_id or 0, *exclude])
        .exclude(exit_cases__state__in=["submitted", "approved", "handover"])
        .order_by("name", "id")
    )
    found = list(people[:count])
    assert len(found) == count
    return found


def email_channel(catcher: Any, case: ExitCase, admin: Any) -> Any:
    from baton.notify import actions as notify_actions

    return notify_actions.create_channel(
        {
            "name": "云软件邮件",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "business_unit_id": case.business_unit_id,
            "settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=admin,
    )
