"""The case page's "Connected systems" section, IT's revocation queue and a revocation's call
log: who sees what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from baton.access.models import User
from baton.handover.models import ExitCase
from baton.integrations.models import (
    BusinessItem,
    ConnectedSystem,
    ConnectorCall,
    DataPull,
    Revocation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


@pytest.fixture
def revocation(approved_case: ExitCase) -> Revocation:
    system = ConnectedSystem.objects.create(
        name="Corporate IdP", kind="scim", base_url="https://idp.example.com/v2"
    )
    now = timezone.now()
    r = Revocation.objects.create(
        case=approved_case,
        system=system,
        employee=approved_case.employee,
        state="failed",
        due_at=now,
        next_attempt_at=now,
        attempts=5,
        login="leaver@example.com",
        error="HTTP 503 from the identity provider",
    )
    ConnectorCall.objects.create(
        system=system,
        revocation=r,
        step="find",
        method="GET",
        url="https://idp.example.com/v2/Users?filter=userName+eq+%22leaver%40example.com%22",
        status=503,
        ok=False,
        error="HTTP 503",
    )
    DataPull.objects.create(case=approved_case, system=system, state="running", fetched=120)
    BusinessItem.objects.create(
        case=approved_case, system=system, kind="customer", external_id="C1", name="ACME"
    )
    return r


def test_case_section_shows_revocations_pulls_and_records(
    client_as: Any, revocation: Revocation
) -> None:
    url = f"/integrations/cases/{revocation.case_id}/"
    head = client_as("head.rd").get(url)
    assert head.status_code == 200
    html = head.content.decode()
    assert "Corporate IdP" in html and "Failed: IT revokes by hand" in html
    assert "120 records read" in html and "Customer: 1" in html
    assert 'hx-trigger="every 3s"' in html  # a pull is running: the section refreshes
    # The leaver sees the state of their exit, not IT's call log.
    own = client_as("employee").get(url).content.decode()
    assert "Corporate IdP" in own and f"/integrations/revocations/{revocation.pk}/" not in own
    assert client_as("hrbp.devices").get(url).status_code == 404


def test_call_log_is_evidence_for_it_hr_and_auditors(
    client_as: Any, revocation: Revocation
) -> None:
    url = f"/integrations/revocations/{revocation.pk}/"
    for who in ("it", "hrbp.cloud", "auditor", "admin"):
        response = client_as(who).get(url)
        assert response.status_code == 200, who
        assert b"HTTP 503" in response.content
    assert client_as("employee").get(url).status_code == 403
    assert client_as("receiver").get(url).status_code == 403
    assert client_as("hrbp.devices").get(url).status_code == 404


def test_it_queue_lists_what_needs_attention(client_as: Any, revocation: Revocation) -> None:
    it = client_as("it")
    page = it.get("/integrations/revocations/")
    assert page.status_code == 200 and f"revocation-{revocation.pk}".encode() in page.content
    revocation.state = "revoked"
    revocation.revoked_at = timezone.now() - dt.timedelta(hours=1)
    revocation.save()
    assert (
        f"revocation-{revocation.pk}".encode() not in it.get("/integrations/revocations/").content
    )
    done = it.get("/integrations/revocations/?state=revoked")
    assert f"revocation-{revocation.pk}".encode() in done.content
    assert client_as("employee").get("/integrations/revocations/").status_code == 403
    assert client_as("finance").get("/integrations/revocations/").status_code == 403


def test_customers_are_offered_to_hr_and_the_manager_only(
    client_as: Any, revocation: Revocation
) -> None:
    url = f"/integrations/cases/{revocation.case_id}/"
    customers_url = f"/integrations/cases/{revocation.case_id}/customers/"
    for who in ("head.rd", "hrbp.cloud"):
        assert customers_url in client_as(who).get(url).content.decode(), who
    for who in ("employee", "it", "auditor"):
        assert customers_url not in client_as(who).get(url).content.decode(), who
