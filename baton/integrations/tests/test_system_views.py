"""The connected-system settings pages: create with configuration and secrets (never shown
back), scoping, "test connection" against a real SCIM server, tokens shown once, and IT's
buttons on a failed revocation."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from baton.access.models import ApiToken, User
from baton.core.sealed import unseal
from baton.handover.models import ExitCase
from baton.integrations.actions import systems as system_actions
from baton.integrations.models import ConnectedSystem, Revocation
from baton.integrations.testing.scim import ScimServer

pytestmark = pytest.mark.django_db
PAGES = "/settings/systems/"


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def _form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Corporate IdP",
        "base_url": "http://127.0.0.1:9/v2",
        "internal": "on",
        "active": "on",
        "revokes_access": "on",
        "revoke_hour": "18",
        "max_attempts": "5",
        "config": "match: email\nfilter_attribute: userName\n",
        "secrets": "token=s3cret-value-123",
        **overrides,
    }


def test_admin_adds_a_scim_system_whose_secret_is_never_shown(client_as: Any) -> None:
    admin = client_as("admin")
    assert admin.get(f"{PAGES}new/scim/").status_code == 200
    response = admin.post(f"{PAGES}new/scim/", _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    system = ConnectedSystem.objects.get()
    assert system.kind == "scim" and system.config == {
        "match": "email",
        "filter_attribute": "userName",
    }
    assert unseal(system) == {"token": "s3cret-value-123"}
    page = admin.get(f"{PAGES}{system.pk}/")
    assert page.status_code == 200 and b"s3cret-value-123" not in page.content
    assert b"Corporate IdP" in admin.get(PAGES).content
    # Saving without secrets keeps them.
    admin.post(f"{PAGES}{system.pk}/", _form(name="IdP", secrets=""))
    system.refresh_from_db()
    assert system.name == "IdP" and unseal(system) == {"token": "s3cret-value-123"}


def test_bad_configuration_and_secrets_are_named(client_as: Any) -> None:
    admin = client_as("admin")
    response = admin.post(f"{PAGES}new/scim/", _form(config="match: [email"))
    assert response.status_code == 400 and b"not valid JSON or YAML" in response.content
    response = admin.post(f"{PAGES}new/scim/", _form(secrets="token"))
    assert response.status_code == 400 and b"Line 1: write name=value." in response.content
    response = admin.post(f"{PAGES}new/scim/", _form(config="match: fingerprint"))
    assert response.status_code == 400 and b"match must be one of" in response.content
    assert not ConnectedSystem.objects.exists()


def test_hrbp_manages_their_units_systems_only(users: dict[str, User], client_as: Any) -> None:
    group = system_actions.create_system(
        {"name": "Group IdP", "kind": "scim", "base_url": "https://93.184.215.14/v2"},
        {"token": "x" * 12},
        acting_user=users["admin"],
    )
    hr = client_as("hrbp.cloud")
    assert b"Group IdP" not in hr.get(PAGES).content
    assert hr.get(f"{PAGES}{group.pk}/").status_code == 404
    form = hr.get(f"{PAGES}new/rest/")
    assert form.status_code == 200 and b'name="internal"' not in form.content
    assert client_as("it").get(PAGES).status_code == 403


def test_test_connection_against_a_real_scim_server(users: dict[str, User], client_as: Any) -> None:
    with ScimServer() as server:
        system = system_actions.create_system(
            {"name": "IdP", "kind": "scim", "base_url": server.base_url, "internal": True},
            {"token": server.token},
            acting_user=users["admin"],
        )
        admin = client_as("admin")
        page = admin.post(f"{PAGES}{system.pk}/test/", follow=True)
        assert b"Connection OK" in page.content
        assert server.token.encode() not in page.content  # the call log is redacted
        system_actions.set_system_secrets(system, {"token": "wrong"}, acting_user=users["admin"])
        page = admin.post(f"{PAGES}{system.pk}/test/", follow=True)
        assert b"The test failed" in page.content


def test_tokens_are_shown_once_and_revocable(users: dict[str, User], client_as: Any) -> None:
    system = system_actions.create_system(
        {"name": "CRM", "kind": "rest", "base_url": "https://93.184.215.14/api"},
        acting_user=users["admin"],
    )
    admin = client_as("admin")
    response = admin.post(
        f"{PAGES}{system.pk}/tokens/", {"name": "push", "scopes": ["business:push"]}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(system=system)
    raw = response.content.decode().split('id="system-token" class="secret">')[1].split("<")[0]
    assert raw.startswith("btn_") and raw.encode() not in admin.get(f"{PAGES}{system.pk}/").content
    bad = admin.post(f"{PAGES}{system.pk}/tokens/", {"name": "x", "scopes": ["users.manage"]})
    assert bad.status_code == 400
    admin.post(f"{PAGES}{system.pk}/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_retries_or_records_a_failed_revocation_by_hand(
    client_as: Any, approved_case: ExitCase
) -> None:
    system = ConnectedSystem.objects.create(
        name="OA", kind="rest", base_url="https://oa.example.com/api"
    )
    now = timezone.now()
    rev = Revocation.objects.create(
        case=approved_case,
        system=system,
        employee=approved_case.employee,
        state="failed",
        due_at=now,
        next_attempt_at=now,
        attempts=5,
        error="HTTP 503",
    )
    url = f"/integrations/revocations/{rev.pk}/"
    # HR may retry but only IT records a revocation done by hand.
    assert client_as("hrbp.cloud").post(f"{url}manual/", {"note": "x"}).status_code == 403
    it = client_as("it")
    page = it.post(f"{url}manual/", {"note": ""}, follow=True)
    assert b"Say what was done" in page.content
    it.post(f"{url}manual/", {"note": "Disabled in the OA admin console, ticket IT-42"})
    rev.refresh_from_db()
    assert rev.state == "manual" and rev.outcome["manual_note"].endswith("IT-42")


def test_a_rest_manifest_is_checked_when_saved(client_as: Any) -> None:
    manifest = (
        "version: 1\n"
        "headers:\n  Authorization: 'Bearer {{ secrets.api_token }}'\n"
        "steps:\n  revoke:\n    - method: FETCH\n      path: /users/{{ account.id }}\n"
    )
    response = client_as("admin").post(
        f"{PAGES}new/rest/",
        _form(name="OA", base_url="http://127.0.0.1:9/api", config=manifest, secrets="x=yyyy"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "steps.revoke[0].method" in html and "api_token" in html
    assert not ConnectedSystem.objects.exists()
