"""The SCIM 2.0 connector against a real SCIM server (`scim2-server`, a subprocess on
127.0.0.1): finding a user, deactivating it with a PatchOp, removing it from its groups,
verifying, deleting; SCIM and network errors as retryable or not; every call in the call log
with the bearer token nowhere in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from baton.integrations.actions import systems as system_actions
from baton.integrations.calls import CallLog
from baton.integrations.connectors import for_system
from baton.integrations.connectors.base import ConnectorError, Leaver
from baton.integrations.connectors.scim import ScimConnector, filter_string
from baton.integrations.models import ConnectedSystem, ConnectorCall
from baton.integrations.testing.scim import ScimServer, free_port
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def server() -> Iterator[ScimServer]:
    with ScimServer() as s:
        yield s


def make_system(admin: Any, base_url: str, token: str, **config: Any) -> ConnectedSystem:
    return system_actions.create_system(
        {
            "name": "Identity provider",
            "kind": "scim",
            "base_url": base_url,
            "internal": True,
            "config": config,
        },
        {"token": token},
        acting_user=admin,
    )


def connector(system: ConnectedSystem) -> tuple[ScimConnector, CallLog]:
    log = CallLog(system)
    found = for_system(system, log)
    assert isinstance(found, ScimConnector)
    return found, log


def leaver(login: str, external_id: str = "") -> Leaver:
    employee = Employee.objects.order_by("pk").first()
    assert employee is not None
    return Leaver(employee=employee, case=None, login=login, external_id=external_id)  # type: ignore[arg-type]


def test_filter_quotes_the_value_as_scim_does() -> None:
    assert filter_string("userName", 'a"b\\c') == 'userName eq "a\\"b\\\\c"'


def test_find_revoke_verify_delete(users: dict[str, Any], server: ScimServer) -> None:
    uid = server.add_user("c1@huaxia.example", groups=["c1-eng", "c1-ops"])
    other = server.add_user("c1-peer@huaxia.example", groups=["c1-eng"])
    system = make_system(
        users["admin"], server.base_url, server.token, sessions_path="/Users/{id}/sessions"
    )
    scim, log = connector(system)
    who = leaver("C1@huaxia.example")  # userName is not case-exact in SCIM

    account = scim.find(who)
    assert account is not None and account.external_id == uid and account.active is True
    done = scim.revoke(who, account)
    assert done["deactivated"] is True
    assert sorted(done["groups_removed"]) == ["c1-eng", "c1-ops"]
    # scim2-server has no session endpoint: noted, not a failure.
    assert done["sessions"] == "not supported by the system"
    assert scim.verify(who, account) is True

    # Read back independently of the connector.
    assert server.user(uid)["active"] is False  # type: ignore[index]
    assert server.members("c1-eng") == [other]
    assert server.members("c1-ops") == []
    assert server.user(other)["active"] is True  # type: ignore[index]

    steps = [(c.step, c.method, c.status) for c in log.calls]
    assert steps[0] == ("find", "GET", 200)
    assert ("deactivate", "PATCH", 204) in steps
    assert [s for s in steps if s[0] == "groups" and s[1] == "PATCH"] == [
        ("groups", "PATCH", 204),
        ("groups", "PATCH", 204),
    ]
    assert ("sessions", "DELETE", 404) in steps and steps[-1] == ("verify", "GET", 200)
    patch = next(c for c in log.calls if c.step == "deactivate")
    assert patch.url == f"{server.base_url}/Users/{uid}"

    scim.delete(who, account)
    assert server.user(uid) is None
    scim.delete(who, account)  # already gone: nothing to do, no error
    # Every call is evidence; the bearer token is in none of it.
    rows = ConnectorCall.objects.filter(system=system)
    assert rows.count() == len(log.calls) and all(r.ok or r.status == 404 for r in rows)
    for row in rows:
        text = " ".join([row.url, row.request_body, row.response_body, row.error])
        assert server.token not in text


def test_find_by_known_id_and_absent(users: dict[str, Any], server: ScimServer) -> None:
    uid = server.add_user("c2@huaxia.example")
    scim, _log = connector(make_system(users["admin"], server.base_url, server.token))
    # A known id wins over the login; a stale id falls back to the login.
    assert scim.find(leaver("nobody@x.example", uid)).external_id == uid  # type: ignore[union-attr]
    assert scim.find(leaver("c2@huaxia.example", "gone")).external_id == uid  # type: ignore[union-attr]
    assert scim.find(leaver("nobody@huaxia.example")) is None
    # Searching by another attribute (e.g. the e-mail instead of the user name).
    server.add_user("c2-login", email="c2-mail@huaxia.example")
    by_mail, _log = connector(
        make_system(users["admin"], server.base_url, server.token, filter_attribute="emails.value")
    )
    assert by_mail.find(leaver("c2-mail@huaxia.example")).login == "c2-login"  # type: ignore[union-attr]


def test_two_accounts_for_one_login_is_not_guessed(
    users: dict[str, Any], server: ScimServer
) -> None:
    server.add_user("c3-a", email="c3@huaxia.example")
    server.add_user("c3-b", email="c3@huaxia.example")
    scim, _log = connector(
        make_system(users["admin"], server.base_url, server.token, filter_attribute="emails.value")
    )
    with pytest.raises(ConnectorError) as err:
        scim.find(leaver("c3@huaxia.example"))
    assert err.value.retryable is False and "More than one account" in str(err.value)


def test_wrong_token_is_not_retryable(users: dict[str, Any], server: ScimServer) -> None:
    scim, log = connector(make_system(users["admin"], server.base_url, "wrong-token"))
    with pytest.raises(ConnectorError) as err:
        scim.find(leaver("c4@huaxia.example"))
    assert err.value.retryable is False and "401" in str(err.value)
    assert [(c.status, c.ok) for c in log.calls] == [(401, False)]
    ok, message = scim.test()
    assert ok is False and "401" in message


def test_server_down_is_retryable(users: dict[str, Any]) -> None:
    scim, log = connector(
        make_system(users["admin"], f"http://127.0.0.1:{free_port()}/v2", "t0ken-down")
    )
    with pytest.raises(ConnectorError) as err:
        scim.find(leaver("c5@huaxia.example"))
    assert err.value.retryable is True
    assert log.calls[0].status is None and "ConnectError" in log.calls[0].error


def test_no_token_set(users: dict[str, Any], server: ScimServer) -> None:
    system = make_system(users["admin"], server.base_url, "")
    scim, log = connector(system)
    with pytest.raises(ConnectorError) as err:
        scim.find(leaver("c6@huaxia.example"))
    assert err.value.retryable is False and not log.calls


def test_connection_test(users: dict[str, Any], server: ScimServer) -> None:
    system = make_system(users["admin"], server.base_url, server.token)
    ok, message = system_actions.test_system(system, acting_user=users["admin"])
    assert ok is True and "patch" in message
    calls = list(ConnectorCall.objects.filter(system=system).order_by("id"))
    assert [(c.step, c.method, c.status) for c in calls] == [("test", "GET", 200)] * 2
    assert calls[0].url.endswith("/v2/ServiceProviderConfig")
    assert "/v2/Users?" in calls[1].url


def test_systems_api(users: dict[str, Any], client_as: Any, server: ScimServer) -> None:
    admin = client_as("admin")
    body = {
        "name": "统一身份认证",
        "kind": "scim",
        "base_url": server.base_url,
        "internal": True,
        "config": {"match": "email", "sessions_path": "/Users/{id}/sessions"},
        "delete_after_days": 30,
        "secrets": {"token": server.token},
    }
    r = admin.post("/api/integrations/systems", body, content_type="application/json")
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["has_secrets"] is True and server.token not in r.content.decode()
    system_id = created["id"]
    assert admin.get("/api/integrations/systems").json()["count"] == 1
    r = admin.post(f"/api/integrations/systems/{system_id}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.content
    calls = admin.get(f"/api/integrations/systems/{system_id}/calls").json()
    assert calls["count"] == 2 and server.token not in str(calls)
    r = admin.put(
        f"/api/integrations/systems/{system_id}/secrets",
        {"secrets": {"token": "wrong"}},
        content_type="application/json",
    )
    assert r.status_code == 200 and "wrong" not in r.content.decode()
    assert admin.post(f"/api/integrations/systems/{system_id}/test").json()["ok"] is False

    # HR of a business unit: not a group-wide system, and no internal addresses.
    hr = client_as("hrbp.cloud")
    bu = Employee.objects.get(user=users["employee"]).business_unit_id
    r = hr.post("/api/integrations/systems", body, content_type="application/json")
    assert r.status_code == 403
    r = hr.post(
        "/api/integrations/systems",
        {**body, "business_unit_id": bu},
        content_type="application/json",
    )
    assert r.status_code == 400 and "internal" in r.json()["errors"]
    r = hr.post(
        "/api/integrations/systems",
        {**body, "business_unit_id": bu, "internal": False},
        content_type="application/json",
    )
    assert r.status_code == 400 and "base_url" in r.json()["errors"]  # the URL guard
    assert hr.get(f"/api/integrations/systems/{system_id}").status_code == 404
    bad = {**body, "config": {"match": "shoe size"}}
    r = admin.post("/api/integrations/systems", bad, content_type="application/json")
    assert r.status_code == 400 and "config" in r.json()["errors"]
