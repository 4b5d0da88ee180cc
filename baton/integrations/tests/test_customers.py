"""Customer handover: reassigning a leaver's customers (to the receiver, round robin, by
current load), refusing people who cannot take them, the letters to customers in their
language through the local SMTP server with a confirmation link that answers the customer's
handover item, the background run after commit, the API and the page, and who may do it."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho_actions
from baton.handover.actions.tasks import missing_evidence
from baton.handover.models import ExitCase, ExternalConfirmation, HandoverTask
from baton.integrations import customers, letters
from baton.integrations.actions import customers as customer_actions
from baton.integrations.actions import letters as letter_actions
from baton.integrations.models import BusinessItem
from baton.integrations.testing.wecom import WecomServer
from baton.integrations.tests.customers_helpers import (
    add_customers,
    colleagues,
    email_channel,
    plain_system,
    wecom_system,
)
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_users(demo_data: None) -> None:
    """API answers in English (users' language; the installation's default is zh-Hans)."""
    from baton.access.models import User

    User.objects.update(language="en")


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    return ExitCase.objects.select_related("employee", "employee__manager", "legal_entity").get(
        pk=approved_case.pk
    )


@pytest.fixture
def catcher() -> Any:
    with MailCatcher() as c:
        yield c


def _owners(case: ExitCase) -> dict[str, int | None]:
    return dict(
        BusinessItem.objects.filter(case=case).values_list("name", "new_owner_id").order_by("name")
    )


def _open_case_for(employee: Employee, admin: Any) -> ExitCase:
    other = ho_actions.open_case(
        employee,
        acting_user=admin,
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 30),
        reason="个人原因",
        submit=True,
    )
    return ho_actions.approve_case(other, acting_user=admin)


# ---------------------------------------------------------------- choosing new owners


def test_to_the_receiver(case: ExitCase, users: dict[str, Any]) -> None:
    """The successor, else the customer task's receiver, else the leaver's manager."""
    system = plain_system()
    items = add_customers(case, system, 3)
    [peer, successor] = colleagues(case, 2)
    HandoverTask.objects.filter(pk=items[0].task_id).update(receiver=peer)
    result = customer_actions.reassign_customers(
        case, acting_user=users["hrbp.cloud"], strategy="receiver"
    )
    manager = case.employee.manager_id
    assert result.moved == {items[0].pk: peer.pk, items[1].pk: manager, items[2].pk: manager}
    assert set(BusinessItem.objects.filter(case=case).values_list("write_back", flat=True)) == {""}
    # The customers' handover items now go to the new owners.
    receivers = dict(
        HandoverTask.objects.filter(pk__in=[i.task_id for i in items]).values_list(
            "pk", "receiver_id"
        )
    )
    assert receivers == {
        items[0].task_id: peer.pk,
        items[1].task_id: manager,
        items[2].task_id: manager,
    }
    case.successor = successor
    case.save(update_fields=["successor"])
    result = customer_actions.reassign_customers(
        case, acting_user=users["head.rd"], strategy="receiver"
    )
    assert set(result.moved.values()) == {successor.pk}
    entries = AuditEntry.objects.filter(event_type=E.CUSTOMERS_REASSIGNED, subject_id=str(case.pk))
    assert entries.count() == 2
    last = entries.order_by("-id").first()
    assert last is not None and json.loads(last.payload)["extra"]["owners"] == {
        str(successor.pk): [i.pk for i in items]
    }
    assert (
        AuditEntry.objects.filter(
            event_type=E.TASK_REASSIGNED, subject_type="handover.handovertask"
        ).count()
        == 2 + 3
    )  # the peer's item already had the peer as its receiver


def test_round_robin_in_name_order(case: ExitCase, users: dict[str, Any]) -> None:
    items = add_customers(case, plain_system(), 7)
    team = colleagues(case, 3)
    result = customer_actions.reassign_customers(
        case, acting_user=users["hrbp.cloud"], strategy="round_robin", team=list(reversed(team))
    )
    order = sorted(team, key=lambda e: (e.name, e.pk))
    assert [result.moved[i.pk] for i in items] == [order[n % 3].pk for n in range(7)]
    assert Counter(result.moved.values()) == {order[0].pk: 3, order[1].pk: 2, order[2].pk: 2}


def test_by_current_load_counts_other_open_exits(case: ExitCase, users: dict[str, Any]) -> None:
    admin = users["admin"]
    system = plain_system()
    busy, b, c, other_leaver = colleagues(case, 4)
    other = _open_case_for(other_leaver, admin)
    add_customers(other, system, 3, prefix="老客户")
    customer_actions.reassign_customers(
        other, acting_user=admin, strategy="round_robin", team=[busy]
    )
    items = add_customers(case, system, 6)
    result = customer_actions.reassign_customers(
        case, acting_user=admin, strategy="by_load", team=[busy, b, c]
    )
    counts = Counter(result.moved.values())
    assert counts[busy.pk] == 0 and counts[b.pk] == 3 and counts[c.pk] == 3
    # Two more customers, one overridden to `b` (counted in the batch): the totals over the
    # open exits stay within one of each other.
    more = add_customers(case, system, 2, prefix="新客户")
    result = customer_actions.reassign_customers(
        case,
        acting_user=admin,
        strategy="by_load",
        team=[busy, b, c],
        overrides={more[0].pk: b.pk},
    )
    assert result.moved.get(more[0].pk, b.pk) == b.pk
    assert BusinessItem.objects.get(pk=more[0].pk).new_owner_id == b.pk
    totals = Counter(
        BusinessItem.objects.filter(
            case__state__in=["approved", "handover"], new_owner__in=[busy, b, c]
        ).values_list("new_owner_id", flat=True)
    )
    assert sum(totals.values()) == 3 + len(items) + 2
    assert max(totals.values()) - min(totals[p.pk] for p in (busy, b, c)) <= 1


def test_refuses_the_leaver_and_people_leaving(case: ExitCase, users: dict[str, Any]) -> None:
    admin = users["admin"]
    items = add_customers(case, plain_system(), 2)
    gone, leaving, fine = colleagues(case, 3)
    with pytest.raises(InvalidInput) as err:
        customer_actions.reassign_customers(
            case, acting_user=admin, strategy=None, overrides={items[0].pk: case.employee_id}
        )
    assert case.employee.name in str(err.value.field_errors)
    Employee.objects.filter(pk=gone.pk).update(status="departed")
    with pytest.raises(InvalidInput) as err:
        customer_actions.reassign_customers(
            case,
            acting_user=admin,
            strategy="round_robin",
            team=[fine, Employee.objects.get(pk=gone.pk)],
        )
    assert f"{gone.name} ({gone.employee_number})" in str(err.value.field_errors)
    _open_case_for(leaving, admin)
    with pytest.raises(InvalidInput) as err:
        customer_actions.reassign_customers(
            case, acting_user=admin, strategy=None, overrides={items[1].pk: leaving.pk}
        )
    assert leaving.name in str(err.value.field_errors)
    with pytest.raises(InvalidInput):
        customer_actions.reassign_customers(case, acting_user=admin, strategy="by_load", team=[])
    with pytest.raises(InvalidInput):
        customer_actions.reassign_customers(
            case, acting_user=admin, strategy=None, overrides={999999: fine.pk}
        )
    assert set(_owners(case).values()) == {None}  # nothing was written


def test_overrides(case: ExitCase, users: dict[str, Any]) -> None:
    admin = users["admin"]
    items = add_customers(case, plain_system(), 3)
    a, b, c = colleagues(case, 3)
    result = customer_actions.reassign_customers(
        case, acting_user=admin, strategy="round_robin", team=[a], overrides={items[1].pk: b.pk}
    )
    assert result.moved == {items[0].pk: a.pk, items[1].pk: b.pk, items[2].pk: a.pk}
    result = customer_actions.reassign_customers(
        case, acting_user=admin, strategy=None, overrides={items[0].pk: c.pk, items[1].pk: b.pk}
    )
    assert result.moved == {items[0].pk: c.pk} and result.unchanged == [items[1].pk]
    assert _owners(case)[items[2].name] == a.pk


def test_reassigning_costs_the_same_queries_for_5_or_200_customers(
    case: ExitCase, users: dict[str, Any]
) -> None:
    admin = users["admin"]
    system = plain_system()
    add_customers(case, system, 5)
    a, b, c, d = colleagues(case, 4)
    with CaptureQueriesContext(connection) as small:
        customer_actions.reassign_customers(
            case, acting_user=admin, strategy="by_load", team=[a, b]
        )
    add_customers(case, system, 195, prefix="更多")
    with CaptureQueriesContext(connection) as large:
        customer_actions.reassign_customers(
            case, acting_user=admin, strategy="by_load", team=[c, d]
        )
    assert BusinessItem.objects.filter(case=case, new_owner__in=[c, d]).count() == 200
    assert len(large) == len(small) <= 30, [q["sql"][:120] for q in large.captured_queries]


# ---------------------------------------------------------------- letters


def _link(text: str) -> str:
    found = re.search(re.escape(settings.BATON_PUBLIC_URL) + r"(/confirm/#[\w-]+)", text)
    assert found, text
    return found.group(1)


def _body(message: Any) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def test_letters_in_the_customers_language_with_a_working_link(
    case: ExitCase, users: dict[str, Any], catcher: MailCatcher, client: Any
) -> None:
    hr = users["hrbp.cloud"]
    email_channel(catcher, case, users["admin"])
    [english] = add_customers(case, plain_system(), 1, language="en", prefix="Acme")
    [chinese] = add_customers(case, plain_system(), 1, prefix="华星")  # CN entity: Chinese
    [silent] = add_customers(case, plain_system(), 1, email=False, prefix="无邮箱")
    manager = case.employee.manager
    assert manager is not None
    Employee.objects.filter(pk=manager.pk).update(phone="13912345678")
    manager.refresh_from_db()
    customer_actions.reassign_customers(case, acting_user=hr, strategy="receiver")

    report = letter_actions.send_letters(case.pk, acting_user=hr)
    assert sorted(report.sent) == sorted([english.pk, chinese.pk]) and not report.failed
    assert len(catcher.messages) == 2
    mails = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in catcher.messages}
    company = case.legal_entity.name
    for item, language in ((english, "en"), (chinese, "zh-hans")):
        mail = mails[item.contact_email]
        text, html = _body(mail)
        with translation.override(language):
            subject = _("%(company)s: your new contact is %(name)s") % {
                "company": company,
                "name": manager.name,
            }
            email_label, regards = _("Email"), _("Kind regards,")
        assert mail["Subject"] == subject
        for fact in (manager.name, manager.email, "13912345678", case.employee.name, company):
            assert fact in text and fact in html
        assert f"{email_label}: {manager.email}" in text and regards in text
        assert f'lang="{language}"' in html
        assert _link(text) == _link(html)
    assert "电子邮箱" in _body(mails[chinese.contact_email])[0]
    assert "Email: " in _body(mails[english.contact_email])[0]

    # The link opens the confirmation page; confirming answers the customer's item.
    # (The token is in the link's fragment, which the page posts: it is in no requested URL.)
    path, _hash, raw = _link(_body(mails[chinese.contact_email])[0]).partition("#")
    assert client.get(path).status_code == 200
    page = client.post(path, {"token": raw})
    assert page.status_code == 200 and manager.name in page.content.decode()
    answer = {"token": raw, "answer": "yes", "note": "收到"}
    assert client.post(path, answer).status_code == 200
    task = HandoverTask.objects.get(pk=chinese.task_id)
    assert task.state == "in_progress" and missing_evidence(task) == []
    conf = ExternalConfirmation.objects.get(task=task)
    assert conf.confirmed is True and conf.recipient_email == chinese.contact_email
    english_task = HandoverTask.objects.get(pk=english.task_id)
    assert missing_evidence(english_task) != []  # not answered yet

    # Sent once; a resend only when asked.
    assert letter_actions.send_letters(case.pk, acting_user=hr).sent == []
    assert len(catcher.messages) == 2
    again = letter_actions.send_letters(case.pk, acting_user=hr, resend_before=timezone.now())
    assert sorted(again.sent) == sorted([english.pk, chinese.pk])
    assert len(catcher.messages) == 4
    assert BusinessItem.objects.get(pk=silent.pk).letter_sent_at is None
    sent = AuditEntry.objects.filter(event_type=E.CUSTOMER_LETTERS_SENT, subject_id=str(case.pk))
    # One entry per letter (each is sent in its own transaction): 2 letters, then 2 resent.
    assert sent.count() == 4
    first = sent.order_by("id").first()
    assert first is not None and json.loads(first.payload)["extra"]["count"] == 1


def test_letter_language_falls_back_to_the_entity(case: ExitCase) -> None:
    item = BusinessItem(contact_language="")
    assert letters.letter_language(item, case) == "zh-hans"
    item.contact_language = "en-GB"
    assert letters.letter_language(item, case) == "en"
    item.contact_language = "zh_CN"
    assert letters.letter_language(item, case) == "zh-hans"
    case.legal_entity.jurisdiction = "SG"
    item.contact_language = "fr"
    assert letters.letter_language(item, case) == "en"


def test_a_letter_that_cannot_be_sent_leaves_nothing(case: ExitCase, users: dict[str, Any]) -> None:
    class Closed:
        port = 9  # discard: nothing listens

    email_channel(Closed(), case, users["admin"])
    [item] = add_customers(case, plain_system(), 1)
    customer_actions.reassign_customers(case, acting_user=users["admin"], strategy="receiver")
    report = letter_actions.send_letters(case.pk, acting_user=users["admin"])
    assert list(report.failed) == [item.pk] and "SMTP" in report.failed[item.pk]
    assert not ExternalConfirmation.objects.filter(task_id=item.task_id).exists()
    assert BusinessItem.objects.get(pk=item.pk).letter_sent_at is None


def test_no_email_channel_is_a_clear_error(case: ExitCase, users: dict[str, Any]) -> None:
    add_customers(case, plain_system(), 1)
    customer_actions.reassign_customers(case, acting_user=users["admin"], strategy="receiver")
    with pytest.raises(Conflict, match="No email channel"):
        letter_actions.request_letters(case, acting_user=users["admin"])
    with pytest.raises(Conflict, match="No email channel"):
        letter_actions.send_letters(case.pk, acting_user=users["admin"])


def test_after_commit_the_worker_writes_back_and_sends_letters(
    case: ExitCase,
    users: dict[str, Any],
    catcher: MailCatcher,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    email_channel(catcher, case, users["admin"])
    with WecomServer() as wecom:
        ids = wecom.add_customers(case.employee.employee_number, 4)
        items = add_customers(case, wecom_system(wecom), ids)
        team = colleagues(case, 2)
        with django_capture_on_commit_callbacks(execute=True):
            customer_actions.reassign_customers(
                case, acting_user=users["head.rd"], strategy="round_robin", team=team
            )
        # 离职继承 waits for the leaver to have left: the workers' clock comes back for it.
        assert wecom.calls("externalcontact/resigned/transfer_customer") == []
        after = dt.datetime.combine(case.last_working_day, dt.time(12), tzinfo=dt.UTC)
        assert customer_actions.sweep_write_backs(after + dt.timedelta(days=1)) == 1
        assert len(wecom.calls("externalcontact/resigned/transfer_customer")) == 2
    rows = BusinessItem.objects.filter(pk__in=[i.pk for i in items])
    assert set(rows.values_list("write_back", flat=True)) == {"done"}
    assert not rows.filter(letter_sent_at__isnull=True).exists()
    assert len(catcher.messages) == 4


# ---------------------------------------------------------------- API, page, authorization


@pytest.fixture
def api() -> str:
    """Where the customers API answers."""
    path = reverse("api:list_case_customers", kwargs={"case_id": 1})
    return path.rsplit("/cases/", 1)[0]


def test_api_lists_and_reassigns_for_hr_and_the_manager_only(
    case: ExitCase, users: dict[str, Any], client_as: Any, api: str
) -> None:
    items = add_customers(case, plain_system(), 3)
    url = f"{api}/cases/{case.pk}/customers"
    expected = {
        "admin": 200,
        "hrbp.cloud": 200,
        "head.rd": 200,  # the leaver's manager
        "employee": 403,  # the leaver
        "auditor": 403,  # sees the case, hands nothing over
        "hrbp.devices": 404,  # another business unit
        "receiver": 404,
    }
    for role, status in expected.items():
        assert client_as(role).get(url).status_code == status, role
    body = client_as("head.rd").get(url).json()
    assert body["count"] == 3 and body["email_channel"] is False
    assert {i["id"] for i in body["items"]} == {i.pk for i in items}

    team = colleagues(case, 2)
    payload = {"strategy": "round_robin", "team_ids": [e.pk for e in team]}
    for role in ("employee", "auditor", "hrbp.devices", "receiver"):
        response = client_as(role).post(f"{url}/reassign", payload, content_type="application/json")
        assert response.status_code in (403, 404), role
    assert set(_owners(case).values()) == {None}
    response = client_as("head.rd").post(
        f"{url}/reassign", payload, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["reassigned"] == 3
    listed = client_as("hrbp.cloud").get(url).json()["items"]
    assert {i["new_owner_id"] for i in listed} == {e.pk for e in team}

    bad = client_as("hrbp.cloud").post(
        f"{url}/reassign", {"strategy": "by_load"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "team" in bad.json()["errors"]
    no_channel = client_as("hrbp.cloud").post(f"{url}/letters", {}, content_type="application/json")
    assert no_channel.status_code == 409 and "email channel" in no_channel.json()["detail"]


def test_api_queues_letters(
    case: ExitCase, users: dict[str, Any], client_as: Any, api: str, catcher: MailCatcher
) -> None:
    email_channel(catcher, case, users["admin"])
    add_customers(case, plain_system(), 2)
    customer_actions.reassign_customers(case, acting_user=users["admin"], strategy="receiver")
    url = f"{api}/cases/{case.pk}/customers/letters"
    assert client_as("employee").post(url, {}, content_type="application/json").status_code == 403
    response = client_as("hrbp.cloud").post(url, {}, content_type="application/json")
    assert response.status_code == 202 and response.json() == {"queued": 2}


def test_the_customers_page(case: ExitCase, users: dict[str, Any], client_as: Any) -> None:
    items = add_customers(case, plain_system(), 2)
    a, b = colleagues(case, 2)
    url = reverse("integrations:case_customers", args=[case.pk])
    assert client_as("employee").get(url).status_code == 403
    assert client_as("hrbp.devices").get(url).status_code == 404
    hr = client_as("hrbp.cloud")
    page = hr.get(url)
    assert page.status_code == 200 and items[0].name in page.content.decode()
    partial = hr.get(url, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b'id="case-customers"' in partial.content
    # Round robin over two people named by number, one customer overridden, via HTMX.
    response = hr.post(
        reverse("integrations:case_customers_reassign", args=[case.pk]),
        {
            "strategy": "round_robin",
            "people": f"{a.employee_number}, {b.employee_number}",
            f"owner_{items[1].pk}": str(a.pk),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert _owners(case) == {
        items[0].name: min((a, b), key=lambda e: (e.name, e.pk)).pk,
        items[1].name: a.pk,
    }
    # A refusal shows on the form, nothing written.
    refused = hr.post(
        reverse("integrations:case_customers_reassign", args=[case.pk]),
        {"strategy": "", f"owner_{items[0].pk}": str(case.employee_id)},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 400 and case.employee.name in refused.content.decode()
    leaver = client_as("employee").post(
        reverse("integrations:case_customers_reassign", args=[case.pk]), {"strategy": "receiver"}
    )
    assert leaver.status_code == 403


def test_write_back_through_a_rest_crm(case: ExitCase, users: dict[str, Any]) -> None:
    """Pulled by the REST connector (items and tasks made by the pull code), reassigned,
    written back through the manifest's reassign_customer flow."""
    from baton.integrations.actions.business import leaver_for, upsert_records
    from baton.integrations.calls import CallLog
    from baton.integrations.connectors import for_system
    from baton.integrations.testing.bizserver import BizServer, connect

    leaver = case.employee
    a, b = colleagues(case, 2)
    with BizServer() as biz:
        for person in (leaver, a, b):
            biz.add_user(person.email, email=person.email)
        biz.seed(leaver.email, customers=5)
        system = connect(biz, "crm", pulls_data=True, transfers_customers=True)
        connector = for_system(system, CallLog(system))
        records = connector.pull(leaver_for(case, system, connector), ["customer"])
        upsert_records(case, system, records, pushed=False, acting_user=None)
        assert customers.transfers_customers(system)
        result = customer_actions.reassign_customers(
            case, acting_user=users["hrbp.cloud"], strategy="round_robin", team=[a, b]
        )
        assert len(result.moved) == 5
        tasks = HandoverTask.objects.filter(business_item__case=case)
        assert tasks.count() == 5 and set(tasks.values_list("evidence_kind", flat=True)) == {
            "external"
        }
        report = customer_actions.write_back(case.pk)
        assert len(report.done) == 5 and not report.failed
        assert len(biz.owned("customers", a.email)) == 3
        assert len(biz.owned("customers", b.email)) == 2
        assert biz.owned("customers", leaver.email) == []
    system.transfers_customers = False
    assert not customers.transfers_customers(system)


def test_a_read_only_token_reads_but_does_not_reassign(
    case: ExitCase, users: dict[str, Any], client: Any, api: str
) -> None:
    from baton.access import actions as access_actions

    add_customers(case, plain_system(), 2)
    head = users["head.rd"]
    _token, raw = access_actions.create_token(head, "读", ["handover:read"], acting_user=head)
    auth = {"Authorization": f"Bearer {raw}"}
    url = f"{api}/cases/{case.pk}/customers"
    assert client.get(url, headers=auth).status_code == 200
    response = client.post(
        f"{url}/reassign", {"strategy": "receiver"}, content_type="application/json", headers=auth
    )
    assert response.status_code == 403
    assert set(_owners(case).values()) == {None}
