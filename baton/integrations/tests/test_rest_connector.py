"""The declarative REST connector against a real local business system (bizserver on
127.0.0.1): find, revoke with ownership transfer, verify, delete, pulls in every pagination
style, customer write-back, errors classed retryable or not, injection-safe templating, and
no secret in the call log."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from baton.core.sealed import seal
from baton.handover.models import ExitCase
from baton.integrations.calls import CallLog
from baton.integrations.connectors import for_system
from baton.integrations.connectors.base import ConnectorError, Leaver, Reassignment
from baton.integrations.connectors.rest import RestConnector
from baton.integrations.models import BusinessItem, ConnectedSystem, ConnectorCall
from baton.integrations.testing.bizserver import BizServer, connect
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def biz() -> Iterator[BizServer]:
    with BizServer(token='tok-Se/cr+et"1') as server:
        yield server


@pytest.fixture
def people(approved_case: ExitCase) -> dict[str, Any]:
    leaver = approved_case.employee
    receiver = (
        Employee.objects.filter(department=leaver.department, status="active")
        .exclude(pk=leaver.pk)
        .first()
    )
    assert receiver is not None
    return {"case": approved_case, "leaver": leaver, "receiver": receiver}


def _leaver(people: dict[str, Any], **kw: Any) -> Leaver:
    return Leaver(
        employee=people["leaver"],
        case=people["case"],
        login=kw.pop("login", people["leaver"].email),
        receiver=kw.pop("receiver", people["receiver"]),
        **kw,
    )


def _connector(system: ConnectedSystem, **kw: Any) -> RestConnector:
    connector = for_system(system, CallLog(system, **kw))
    assert isinstance(connector, RestConnector)
    return connector


def _no_secret_logged(system: ConnectedSystem, secret: str) -> None:
    rows = ConnectorCall.objects.filter(system=system)
    assert rows.exists()
    for row in rows:
        for text in (row.url, row.request_body, row.response_body, row.error):
            assert secret not in text
            assert "Se%2Fcr" not in text and "Se/cr" not in text


def test_revoke_transfers_ownership_and_verifies(biz: BizServer, people: dict[str, Any]) -> None:
    leaver, receiver = people["leaver"], people["receiver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.add_user(receiver.email, email=receiver.email)
    biz.seed(leaver.email, customers=3, projects=2)
    system = connect(biz, "oa")
    conn = _connector(system)
    who = _leaver(people)

    account = conn.find(who)
    assert account is not None and account.active is True and account.login == leaver.email
    assert conn.verify(who, account) is False  # still active: the verify call is marked failed
    failed = ConnectorCall.objects.filter(system=system, step="verify").latest("id")
    assert not failed.ok and "expected $.active = false, got true" in failed.error

    done = conn.revoke(who, account)
    assert done["revoked"] == ["deactivate", "end-sessions"]
    assert done["transferred_to"] == receiver.email
    assert done["extracted"] == {"sessions_ended": 2, "moved": 5}
    # The server's own state, read independently.
    user = biz.users_by_login[leaver.email]
    assert user["active"] is False and user["sessions"] == 0
    assert biz.owned("customers", leaver.email) == []
    assert len(biz.owned("customers", receiver.email)) == 3
    assert len(biz.owned("projects", receiver.email)) == 2
    [transfer] = biz.calls("POST", "/api/users/")[-1:]
    assert transfer.json == {"to": receiver.email, "reason": f"Exit case {people['case'].pk}"}

    assert conn.verify(who, account) is True
    conn.delete(who, account)
    assert leaver.email not in biz.users_by_login
    assert conn.find(who) is None

    steps = list(
        ConnectorCall.objects.filter(system=system).order_by("id").values_list("step", "ok")
    )
    assert steps == [
        ("find", True),
        ("verify", False),
        ("deactivate", True),
        ("end-sessions", True),
        ("transfer-ownership", True),
        ("verify", True),
        ("delete", True),
        ("find", True),
    ]
    _no_secret_logged(system, biz.token)
    # Every request carried the bearer token, which the server checked.
    assert all(r.status != 401 for r in biz.received)


def test_no_receiver_no_transfer(biz: BizServer, people: dict[str, Any]) -> None:
    leaver = people["leaver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.seed(leaver.email, customers=2)
    conn = _connector(connect(biz, "oa"))
    who = _leaver(people, receiver=None)
    account = conn.find(who)
    assert account is not None
    done = conn.revoke(who, account)
    assert done["transfer"] == "skipped: no receiver"
    assert len(biz.owned("customers", leaver.email)) == 2


def test_errors_are_classed_and_name_the_step(biz: BizServer, people: dict[str, Any]) -> None:
    leaver = people["leaver"]
    biz.add_user(leaver.email, email=leaver.email)
    system = connect(biz, "oa")
    conn = _connector(system)
    who = _leaver(people)
    account = conn.find(who)
    assert account is not None

    biz.fail_next(1, 503)
    with pytest.raises(ConnectorError) as exc:
        conn.revoke(who, account)
    assert exc.value.retryable and "deactivate: HTTP 503" in str(exc.value)

    biz.fail_on["/api/users/"] = 403
    with pytest.raises(ConnectorError) as exc:
        conn.revoke(who, account)
    assert not exc.value.retryable and "deactivate: HTTP 403" in str(exc.value)
    del biz.fail_on["/api/users/"]

    # An answer that does not meet `expect` is final and says what was wrong.
    system.config["steps"]["revoke"][0]["expect"] = {"equals": {"$.active": "no"}}
    system.save(update_fields=["config"])
    with pytest.raises(ConnectorError) as exc:
        _connector(system).revoke(who, account)
    assert not exc.value.retryable
    assert str(exc.value) == 'deactivate: expected $.active = "no", got false'
    assert not ConnectorCall.objects.filter(system=system).latest("id").ok

    # A wrong token: 401, final.
    seal(system, {"api_token": "wrong-token-value"})
    system.save(update_fields=["secrets_blob", "secrets_key_id"])
    with pytest.raises(ConnectorError) as exc:
        _connector(system).find(who)
    assert not exc.value.retryable and "HTTP 401" in str(exc.value)


def test_network_errors_retry_and_the_url_guard_does_not(people: dict[str, Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with BizServer() as biz:
        system = connect(biz, "oa")
    system.base_url = f"http://127.0.0.1:{port}/api"  # nothing listens there
    system.save(update_fields=["base_url"])
    with pytest.raises(ConnectorError) as exc:
        _connector(system).find(_leaver(people))
    assert exc.value.retryable and "find:" in str(exc.value)
    system.internal = False  # loopback is refused unless the system is marked internal
    system.save(update_fields=["internal"])
    with pytest.raises(ConnectorError) as exc:
        _connector(system).find(_leaver(people))
    assert not exc.value.retryable and "private or local address" in str(exc.value)


INJECTION_MANIFEST: dict[str, Any] = {
    "headers": {"Authorization": "Bearer {{ secrets.api_token }}"},
    "steps": {
        "find": [
            {
                "path": "/users/by-login/{{ employee.login }}",
                "expect": {"status": [200, 404]},
                "found_if": {"status": [200]},
                "extract": {"id": "$.id", "login": "$.login", "active": "$.active"},
            }
        ],
        "revoke": [
            {
                "method": "POST",
                "path": "/users/{{ account.id }}/deactivate",
                "query": {"note": "{{ employee.name }}"},
            }
        ],
        "transfer": [
            {
                "method": "POST",
                "path": "/users/{{ account.id }}/transfer",
                "json": {"to": "{{ receiver.login }}", "by": "{{ employee.name }}"},
            }
        ],
    },
}


def test_templating_is_injection_safe(biz: BizServer, people: dict[str, Any]) -> None:
    nasty = 'o\'brien/../"{{ secrets.api_token }}"?x=1&y=#z'
    to = 'he said "hi" \\ {{ x }} }}'
    biz.add_user(nasty)
    biz.add_user(to)
    biz.seed(nasty, customers=1)
    leaver = people["leaver"]
    leaver.name = 'Zhang "Wei" & {{ secrets.api_token }} / ..'
    system = ConnectedSystem.objects.create(
        name="odd", kind="rest", base_url=biz.url, internal=True, config=INJECTION_MANIFEST
    )
    seal(system, {"api_token": biz.token})
    system.save(update_fields=["secrets_blob", "secrets_key_id"])
    conn = _connector(system)
    who = _leaver(people, login=nasty, receiver_login=to)

    account = conn.find(who)
    assert account is not None and account.login == nasty  # one path segment, decoded back
    [find] = biz.calls("GET")
    assert find.path.count("/") == 4 and "%2F..%2F" in find.path and "?" not in find.path
    conn.revoke(who, account)
    deactivate, transfer = biz.calls("POST")
    assert deactivate.query == {"note": leaver.name}
    assert transfer.json == {"to": to, "by": leaver.name}  # exact strings, JSON-encoded
    assert biz.owned("customers", to)  # the server understood the receiver exactly
    for r in biz.received:
        assert biz.token not in (r.path + str(r.query) + r.body.decode())
    _no_secret_logged(system, biz.token)


def test_pulls_page_by_number_cursor_and_next_link(biz: BizServer, people: dict[str, Any]) -> None:
    leaver = people["leaver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.seed(leaver.email, customers=230, orders=120)
    biz.seed(leaver.email, projects=7, purchase_orders=3, assets=1, loans=2, expense_claims=4)
    biz.page_size = 3  # the ERP and finance manifests use the server's page size
    biz.seed("someone.else", customers=5)
    who = _leaver(people)

    crm = _connector(connect(biz, "crm"))
    pages: list[tuple[str, int]] = []
    crm.pull_pages(who, [], lambda kind, records, bad: pages.append((kind, len(records))))
    assert pages == [
        ("customer", 100),
        ("customer", 100),
        ("customer", 30),
        ("order", 100),
        ("order", 20),
    ]
    records = crm.pull(who, ["customer"])
    first = records[0]
    assert first.kind == "customer" and first.external_id.startswith("C-")
    assert first.name == "客户0001 有限公司" and first.contact_email == "contact1@customer1.example"
    assert first.details == {"industry": "零售", "level": "B"}
    cursors = [r.query.get("cursor") for r in biz.calls("GET", "/api/orders")]
    assert cursors[:2] == [None, "o:100"]

    erp = _connector(connect(biz, "erp"))
    by_kind: dict[str, int] = {}
    for r in erp.pull(who, []):
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    assert by_kind == {"project": 7, "purchase_order": 3, "asset": 1}
    assert [r.query.get("page") for r in biz.calls("GET", "/api/projects")] == [None, "2", "3"]

    finance = _connector(connect(biz, "finance"))
    loans = finance.pull(who, ["loan"])
    assert [str(r.amount) for r in loans] == ["1037.50", "1074.50"] and loans[0].currency == "CNY"


def test_pulls_stop_at_the_cap_and_stay_on_the_host(biz: BizServer, people: dict[str, Any]) -> None:
    leaver = people["leaver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.seed(leaver.email, customers=250, projects=5)
    system = connect(biz, "crm")
    system.config["pull"]["customer"]["paginate"]["max_pages"] = 2
    system.save(update_fields=["config"])
    with pytest.raises(ConnectorError) as exc:
        _connector(system).pull(_leaver(people), ["customer"])
    assert not exc.value.retryable and "after 2 pages" in str(exc.value)

    biz.page_size = 2
    biz.next_host = "http://127.0.0.2:9"
    with pytest.raises(ConnectorError) as exc:
        _connector(connect(biz, "erp")).pull(_leaver(people), ["project"])
    assert "another host" in str(exc.value)
    assert len(biz.calls("GET", "/api/projects")) == 1


def test_records_that_are_not_valid_are_left_out(biz: BizServer, people: dict[str, Any]) -> None:
    leaver = people["leaver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.seed(leaver.email, customers=3)
    biz.add_record("customers", leaver.email, name="", contact={"email": "x"})
    bad: list[str] = []
    _connector(connect(biz, "crm")).pull_pages(
        _leaver(people), ["customer"], lambda kind, records, problems: bad.extend(problems)
    )
    assert len(bad) == 1 and "name" in bad[0] and "contact_email" in bad[0]


def test_customers_are_written_back(biz: BizServer, people: dict[str, Any]) -> None:
    from baton.integrations.actions.business import upsert_records

    case, leaver, receiver = people["case"], people["leaver"], people["receiver"]
    biz.add_user(leaver.email, email=leaver.email)
    biz.add_user(receiver.email, email=receiver.email)
    biz.seed(leaver.email, customers=3)
    system = connect(biz, "crm", pulls_data=True, transfers_customers=True)
    conn = _connector(system)
    upsert_records(
        case, system, conn.pull(_leaver(people), ["customer"]), pushed=False, acting_user=None
    )
    items = list(BusinessItem.objects.filter(case=case, system=system).order_by("external_id"))
    moves = [
        Reassignment(item=i, new_owner=receiver, new_owner_login=receiver.email) for i in items
    ]
    moves[2].new_owner_login = "nobody@nowhere.example"
    result = _connector(system).reassign_customers(_leaver(people), moves)
    assert result[items[0].pk] is None and result[items[1].pk] is None
    assert "HTTP 422" in str(result[items[2].pk])
    assert {r["id"] for r in biz.owned("customers", receiver.email)} == {
        items[0].external_id,
        items[1].external_id,
    }
    logged = ConnectorCall.objects.filter(system=system, step="reassign").order_by("id")
    assert [c.item_id for c in logged] == [i.pk for i in items]

    biz.fail_next(1, 503)
    with pytest.raises(ConnectorError) as exc:  # nothing done yet: retry the batch later
        _connector(system).reassign_customers(_leaver(people), moves[2:])
    assert exc.value.retryable


def test_connection_check(biz: BizServer, people: dict[str, Any]) -> None:
    system = connect(biz, "crm")
    assert _connector(system).test() == (True, "The system answered as the manifest expects.")
    biz.fail_next(1, 502)
    ok, message = _connector(system).test()
    assert not ok and "HTTP 502" in message
    system.config = {"steps": {"find": [{"path": "/x", "extract": {"id": "$.id"}}]}}
    system.save(update_fields=["config"])
    assert _connector(system).test() == (False, "The manifest has no test steps.")
    system.config = {"steps": {"revoke": "oops"}}
    system.save(update_fields=["config"])
    with pytest.raises(ConnectorError, match=r"steps\.revoke: Expected a list"):
        _connector(system)
