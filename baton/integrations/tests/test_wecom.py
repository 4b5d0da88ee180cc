"""The WeCom adapter (离职继承) against a local server speaking WeCom's API: access tokens
(cached, replaced once when expired or invalid), pulling a member's customers page by page,
transferring a departed member's customers 100 a call with per-customer answers, and reading
how the transfers ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from baton.handover.models import ExitCase
from baton.integrations.actions import customers as customer_actions
from baton.integrations.calls import CallLog
from baton.integrations.connectors import for_system
from baton.integrations.connectors.base import Leaver, Reassignment
from baton.integrations.connectors.wecom import WecomConnector
from baton.integrations.models import BusinessItem, ConnectedSystem, ConnectorCall
from baton.integrations.testing import wecom as wx
from baton.integrations.testing.wecom import WecomServer
from baton.integrations.tests.customers_helpers import add_customers, colleagues, wecom_system

pytestmark = pytest.mark.django_db
# 离职继承 takes over the contacts of members who have left: write-backs run after the last
# working day (the cases here end on 31 Dec 2026).
AFTER_LAST_DAY = dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)

TRANSFER = "externalcontact/resigned/transfer_customer"


@pytest.fixture
def server() -> Any:
    with WecomServer() as s:
        yield s


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    return ExitCase.objects.select_related("employee", "employee__manager").get(pk=approved_case.pk)


def _connector(system: ConnectedSystem) -> WecomConnector:
    connector = for_system(system, CallLog(system))
    assert isinstance(connector, WecomConnector)
    return connector


def _leaver(case: ExitCase) -> Leaver:
    return Leaver(employee=case.employee, case=case, login=case.employee.employee_number)


def test_pull_reads_every_customer_page_by_page(server: WecomServer, case: ExitCase) -> None:
    login = case.employee.employee_number
    ids = server.add_customers(login, 230)
    server.add_customers("someone-else", 5)
    system = wecom_system(server)
    records = _connector(system).pull(_leaver(case), ["customer"])
    assert [r.external_id for r in records] == ids
    first = records[0]
    assert first.kind == "customer"
    assert first.contact_name == "客户1" and first.contact_phone == "13800000001"
    assert first.name == "客户公司1有限公司 · 客户1"
    assert first.details["remark"] == f"{login} 的客户 1"
    pages = server.calls("externalcontact/batch/get_by_user")
    assert len(pages) == 3 and all(p.json["limit"] == 100 for p in pages)
    assert [p.json["cursor"] for p in pages] == ["", "100", "200"]
    # One token for the whole run; the secret never reaches the call log.
    assert server.tokens_issued == 1
    logged = ConnectorCall.objects.filter(system=system)
    assert logged.count() == 4
    assert not any(server.secret in c.url or "tok-" in c.url for c in logged)
    assert _connector(system).pull(_leaver(case), ["order"]) == []


def _moves(items: list[BusinessItem], owner: Any, login: str) -> list[Reassignment]:
    return [Reassignment(item=i, new_owner=owner, new_owner_login=login) for i in items]


def test_transfer_goes_100_a_call_and_answers_per_customer(
    server: WecomServer, case: ExitCase
) -> None:
    login = case.employee.employee_number
    ids = server.add_customers(login, 230)
    system = wecom_system(server)
    items = add_customers(case, system, ids)
    [taker] = colleagues(case, 1)
    server.refuse[ids[7]] = wx.TOO_FREQUENT
    result = _connector(system).reassign_customers(
        _leaver(case), _moves(items, taker, taker.employee_number)
    )
    calls = server.calls(TRANSFER)
    assert [len(c.json["external_userid"]) for c in calls] == [100, 100, 30]
    assert {(c.json["handover_userid"], c.json["takeover_userid"]) for c in calls} == {
        (login, taker.employee_number)
    }
    assert result[items[7].pk] is not None and "40128" in result[items[7].pk]
    assert sum(v is None for v in result.values()) == 229
    assert server.transfers[ids[0]].status == wx.WAITING
    assert ids[7] not in server.transfers


def test_server_refuses_more_than_100_customers_a_call(server: WecomServer) -> None:
    token = httpx.get(
        f"{server.url}/cgi-bin/gettoken",
        params={"corpid": server.corpid, "corpsecret": server.secret},
    ).json()["access_token"]
    answer = httpx.post(
        f"{server.url}/cgi-bin/{TRANSFER}",
        params={"access_token": token},
        json={"handover_userid": "a", "takeover_userid": "b", "external_userid": ["x"] * 101},
    ).json()
    assert answer["errcode"] == wx.INVALID_PARAM
    wrong = httpx.get(
        f"{server.url}/cgi-bin/gettoken", params={"corpid": server.corpid, "corpsecret": "nope"}
    ).json()
    assert wrong["errcode"] == wx.INVALID_SECRET and "access_token" not in wrong


def test_an_expired_or_invalid_token_is_replaced_once(server: WecomServer, case: ExitCase) -> None:
    login = case.employee.employee_number
    ids = server.add_customers(login, 3)
    system = wecom_system(server)
    items = add_customers(case, system, ids)
    [taker] = colleagues(case, 1)
    connector = _connector(system)
    connector.pull(_leaver(case), [])
    server.expire_tokens()  # two hours later, mid-run
    result = connector.reassign_customers(
        _leaver(case), _moves(items[:1], taker, taker.employee_number)
    )
    assert result == {items[0].pk: None}
    assert server.tokens_issued == 2
    assert [c.errcode for c in server.calls(TRANSFER)] == [wx.TOKEN_EXPIRED, 0]
    connector._token = "bogus"  # a token WeCom never issued
    result = connector.reassign_customers(
        _leaver(case), _moves(items[1:2], taker, taker.employee_number)
    )
    assert result == {items[1].pk: None} and server.tokens_issued == 3
    assert [c.errcode for c in server.calls(TRANSFER)][-2:] == [wx.INVALID_TOKEN, 0]
    # The refused call is in the log, marked as such.
    refused = ConnectorCall.objects.filter(system=system, step="transfer_customer", ok=False)
    assert refused.count() == 2
    # Still refused after a new token: the error is reported, not retried forever.
    server.expire_tokens()
    server.fail_next(TRANSFER, wx.TOKEN_EXPIRED)
    result = connector.reassign_customers(
        _leaver(case), _moves(items[2:], taker, taker.employee_number)
    )
    assert "42001" in str(result[items[2].pk])


def test_a_whole_call_refused_fails_its_customers_only(server: WecomServer, case: ExitCase) -> None:
    login = case.employee.employee_number
    ids = server.add_customers(login, 150)
    system = wecom_system(server)
    items = add_customers(case, system, ids)
    [taker] = colleagues(case, 1)
    server.fail_next(TRANSFER, wx.BUSY)
    result = _connector(system).reassign_customers(
        _leaver(case), _moves(items, taker, taker.employee_number)
    )
    assert all("-1" in str(result[i.pk]) for i in items[:100])
    assert all(result[i.pk] is None for i in items[100:])


def test_write_back_through_wecom(
    server: WecomServer, case: ExitCase, users: dict[str, Any]
) -> None:
    """230 customers to the manager: 3 calls, WeCom's state follows, one refusal recorded on
    its customer only, the outcome read a day later."""
    login = case.employee.employee_number
    manager = case.employee.manager
    assert manager is not None
    ids = server.add_customers(login, 230)
    system = wecom_system(server)
    items = add_customers(case, system, ids)
    server.refuse[ids[11]] = wx.IN_TRANSFER
    customer_actions.reassign_customers(case, acting_user=users["hrbp.cloud"], strategy="receiver")
    assert set(BusinessItem.objects.filter(case=case).values_list("write_back", flat=True)) == {
        "pending"
    }
    report = customer_actions.write_back(case.pk, now=AFTER_LAST_DAY)
    assert len(report.done) == 229 and list(report.failed) == [items[11].pk]
    assert [len(c.json["external_userid"]) for c in server.calls(TRANSFER)] == [100, 100, 30]
    failed = BusinessItem.objects.get(pk=items[11].pk)
    assert failed.write_back == "failed" and "40129" in failed.write_back_error
    done = BusinessItem.objects.filter(case=case, write_back="done")
    assert done.count() == 229 and not done.filter(written_back_at__isnull=True).exists()
    # Running it again does nothing: nothing is pending.
    assert customer_actions.write_back(case.pk, now=AFTER_LAST_DAY).done == []
    assert len(server.calls(TRANSFER)) == 3
    # A day later: one customer refused, the rest taken over.
    server.customer_refuses(ids[0])
    server.complete_transfers()
    assert server.owned_by(manager.employee_number) == sorted(set(ids) - {ids[0], ids[11]})
    refreshed = customer_actions.refresh_transfers(case.pk)
    assert list(refreshed.failed) == [items[0].pk]
    refused = BusinessItem.objects.get(pk=items[0].pk)
    assert refused.write_back == "failed" and "refused" in refused.write_back_error
    from baton.audit.events import AuditEvent as E
    from baton.audit.models import AuditEntry

    entries = AuditEntry.objects.filter(subject_type="handover.exitcase", subject_id=str(case.pk))
    assert entries.filter(event_type=E.CUSTOMERS_WRITTEN_BACK, actor__isnull=True).count() == 1
    assert entries.filter(event_type=E.CUSTOMER_WRITE_BACK_FAILED).count() == 2
    # Reassigning the failed ones again puts them back in the queue.
    customer_actions.reassign_customers(case, acting_user=users["hrbp.cloud"], strategy="receiver")
    assert set(
        BusinessItem.objects.filter(pk__in=[items[0].pk, items[11].pk]).values_list(
            "write_back", flat=True
        )
    ) == {"pending"}


def test_write_back_needs_both_accounts(
    server: WecomServer, case: ExitCase, users: dict[str, Any]
) -> None:
    # Matched by Baton username: the leaver has one, the colleague taking over has none.
    system = wecom_system(server, match="username")
    items = add_customers(case, system, ["wm-a", "wm-b"])
    [taker] = colleagues(case, 1)
    assert not hasattr(taker, "user") or taker.user is None
    admin = users["admin"]
    customer_actions.reassign_customers(
        case, acting_user=admin, strategy="round_robin", team=[taker]
    )
    report = customer_actions.write_back(case.pk, now=AFTER_LAST_DAY)
    assert report.failed == dict.fromkeys(
        (i.pk for i in items), f"{taker.name} has no WeCom account."
    )
    # Matched by email, and the leaver has none: nothing to hand over from.
    system.config = {**system.config, "match": "email"}
    system.save(update_fields=["config"])
    case.employee.email = ""
    case.employee.save(update_fields=["email"])
    customer_actions.reassign_customers(
        case, acting_user=admin, strategy="round_robin", team=[taker]
    )
    report = customer_actions.write_back(case.pk, now=AFTER_LAST_DAY)
    assert set(report.failed) == {i.pk for i in items}
    assert "has no account in 企业微信" in report.failed[items[0].pk]
    assert server.calls(TRANSFER) == []


def test_a_claimed_write_back_is_left_alone_until_its_worker_is_presumed_dead(
    server: WecomServer, case: ExitCase, users: dict[str, Any]
) -> None:
    import datetime as dt

    from django.utils import timezone

    ids = server.add_customers(case.employee.employee_number, 2)
    system = wecom_system(server)
    items = add_customers(case, system, ids)
    customer_actions.reassign_customers(case, acting_user=users["admin"], strategy="receiver")
    rows = BusinessItem.objects.filter(pk__in=[i.pk for i in items])
    rows.update(write_back="running", updated_at=timezone.now())  # another worker has them
    assert (
        customer_actions.write_back(case.pk, now=AFTER_LAST_DAY).done == []
        and server.calls(TRANSFER) == []
    )
    rows.update(
        updated_at=timezone.now() - customer_actions.STALE_RUNNING - dt.timedelta(seconds=1)
    )
    assert len(customer_actions.write_back(case.pk, now=AFTER_LAST_DAY).done) == 2
    assert len(server.calls(TRANSFER)) == 1
