"""Guards around the connectors: where calls may go, what a business unit's system reaches,
confidential and undone exits, what a system can be set to do, who may change an internal
system, and that secrets stay out of the call log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from baton.core.errors import ActionError, InvalidInput
from baton.handover import actions as handover
from baton.integrations import urlguard
from baton.integrations.actions import customers as customer_actions
from baton.integrations.actions import revocations
from baton.integrations.actions import systems as system_actions
from baton.integrations.calls import CallFailed, CallLog
from baton.integrations.models import ConnectedSystem, DataPull, Revocation
from baton.integrations.tests.customers_helpers import add_customers, plain_system
from baton.integrations.tests.test_revocation import leaver, make_system, resign  # noqa: F401
from baton.notify.models import Notification
from baton.org.models import BusinessUnit, Employee

pytestmark = pytest.mark.django_db


def test_cloud_metadata_and_other_non_public_addresses_are_refused() -> None:
    for url in (
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata (CGNAT range)
        "http://169.254.169.254/",
        "http://192.0.2.10/",  # documentation range
        "http://[::ffff:10.0.0.1]/",
    ):
        with pytest.raises(urlguard.UnsafeURL):
            urlguard.check(url, internal=False)
    urlguard.check("https://93.184.215.14/", internal=False)


def test_a_name_that_does_not_resolve_may_resolve_later(users: dict[str, Any]) -> None:
    system = ConnectedSystem(name="x", kind="rest", base_url="http://unknown-host.invalid/")
    system.save()
    log = CallLog(system, secrets=[])
    with log.client() as client, pytest.raises(CallFailed) as refused:
        client.get("/ping")
    assert refused.value.retryable is True
    with log.client() as client, pytest.raises(CallFailed) as private:
        client.get("http://10.1.2.3/ping")
    assert private.value.retryable is False


def test_tokens_in_json_answers_are_redacted() -> None:
    log = CallLog(ConnectedSystem(name="wecom", kind="wecom", base_url="https://x"), secrets=[])
    text = log.redact('{"errcode":0,"access_token":"tk-123456","expires_in":7200}')
    assert "tk-123456" not in text and '"access_token":"***"' in text


def test_a_business_units_system_reaches_only_that_units_leavers(
    users: dict[str, Any],
    leaver: Employee,  # noqa: F811
) -> None:
    other_bu = BusinessUnit.objects.exclude(pk=leaver.business_unit_id).first()
    assert other_bu is not None
    make_system(users["admin"], name="Devices IdP", legal_entity=None, business_unit=other_bu)
    own = make_system(users["admin"], name="Cloud IdP", business_unit=leaver.business_unit)
    case = resign(users, leaver)
    assert list(Revocation.objects.filter(case=case).values_list("system", flat=True)) == [own.pk]


def test_a_confidential_handover_pulls_and_hands_over_nothing_until_revealed(
    users: dict[str, Any],
    leaver: Employee,  # noqa: F811
) -> None:
    crm = ConnectedSystem.objects.create(
        name="CRM",
        kind="rest",
        base_url="http://127.0.0.1:9/api",
        pulls_data=True,
        revokes_access=False,
        internal=True,
    )
    hr = users["hrbp.cloud"]
    case = handover.open_case(
        leaver,
        acting_user=hr,
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        confidential=True,
    )
    case = handover.approve_case(case, acting_user=hr)
    assert not DataPull.objects.filter(case=case).exists()
    add_customers(case, plain_system(), 2)
    with pytest.raises(ActionError):
        customer_actions.reassign_customers(case, acting_user=hr, strategy="receiver")
    handover.reveal_case(case, acting_user=hr)
    assert crm.pk in set(DataPull.objects.filter(case=case).values_list("system", flat=True))


def test_an_undone_exit_deletes_nothing_and_tells_it(
    users: dict[str, Any],
    leaver: Employee,  # noqa: F811
) -> None:
    make_system(users["admin"], delete_after_days=30)
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    now = timezone.now()
    # As if the account had been deactivated: deletion planned after the grace period.
    rev.state, rev.revoked_at, rev.delete_at = "revoked", now, now
    rev.save()
    handover.withdraw_case(case, acting_user=users["hrbp.cloud"], reason="留任")
    rev.refresh_from_db()
    assert rev.state == "revoked" and rev.delete_at is None
    assert Notification.objects.filter(title__contains="access was already revoked").exists()
    assert revocations.claim_deletions(now + dt.timedelta(days=60), "w") == []


def test_a_paused_system_revokes_nothing(users: dict[str, Any], leaver: Employee) -> None:  # noqa: F811
    system = make_system(users["admin"])
    case = resign(users, leaver)
    system_actions.update_system(system, {"active": False}, acting_user=users["admin"])
    assert revocations.claim(dt.datetime(2027, 1, 5, tzinfo=dt.UTC), "w") == []
    assert Revocation.objects.get(case=case).state == "scheduled"


def test_what_a_system_does_must_be_what_it_can(users: dict[str, Any]) -> None:
    admin = users["admin"]
    base = {"base_url": "http://127.0.0.1:9/", "internal": True}
    with pytest.raises(InvalidInput) as wecom:
        system_actions.create_system(
            {**base, "name": "WeCom", "kind": "wecom", "config": {"corpid": "ww1"}},
            {"secret": "s3cret"},
            acting_user=admin,
        )
    assert "revokes_access" in wecom.value.field_errors
    with pytest.raises(InvalidInput) as scim:
        system_actions.create_system(
            {**base, "name": "IdP", "kind": "scim", "pulls_data": True},
            {"token": "t0ken"},
            acting_user=admin,
        )
    assert "pulls_data" in scim.value.field_errors
    manifest = {"version": 1, "steps": {"test": [{"method": "GET", "path": "/ping"}]}}
    with pytest.raises(InvalidInput) as rest:
        system_actions.create_system(
            {**base, "name": "OA", "kind": "rest", "config": manifest}, acting_user=admin
        )
    assert "revokes_access" in rest.value.field_errors


def test_only_administrators_change_what_an_internal_system_calls(
    users: dict[str, Any],
) -> None:
    bu = BusinessUnit.objects.get(code="C")
    system = make_system(users["admin"], business_unit=bu)
    hr = users["hrbp.cloud"]
    system_actions.update_system(system, {"name": "云软件 IdP"}, acting_user=hr)  # a rename
    with pytest.raises(InvalidInput):
        system_actions.update_system(
            system, {"config": {"match": "employee_number"}}, acting_user=hr
        )
    with pytest.raises((InvalidInput, PermissionDenied)):
        system_actions.update_system(system, {"base_url": "http://127.0.0.2:9/v2"}, acting_user=hr)
