"""The webhook settings pages: create (secret shown once), edit, rotate, the delivery log and
replay, scoped like the API."""

from __future__ import annotations

from typing import Any

import pytest

from baton.access.models import User
from baton.core.sealed import unseal
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import Subscription, WebhookDelivery, WebhookStatus
from baton.integrations.tests.test_api import cloud_bu, dead_deliveries, internal_body

pytestmark = pytest.mark.django_db
PAGES = "/settings/webhooks/"


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def test_admin_creates_a_subscription_and_sees_the_secret_once(client_as: Any) -> None:
    admin = client_as("admin")
    assert admin.get(f"{PAGES}new/").status_code == 200
    body = internal_body()
    response = admin.post(
        f"{PAGES}new/",
        {
            "name": body["name"],
            "url": body["url"],
            "event_types": "case.*, task.accepted",
            "internal": "on",
            "active": "on",
            "max_attempts": "5",
        },
    )
    assert response.status_code == 200
    sub = Subscription.objects.get()
    assert sub.event_types == ["case.*", "task.accepted"] and sub.max_attempts == 5
    secret = unseal(sub)["current"]
    assert secret.encode() in response.content
    # Never again.
    for page in (PAGES, f"{PAGES}{sub.pk}/"):
        again = admin.get(page)
        assert again.status_code == 200 and secret.encode() not in again.content


def test_a_refused_url_is_shown_on_the_field(client_as: Any) -> None:
    response = client_as("admin").post(
        f"{PAGES}new/",
        {"name": "x", "url": "http://10.1.2.3/hook", "event_types": "*", "max_attempts": "12"},
    )
    assert response.status_code == 400
    assert b"private or local address" in response.content
    assert not Subscription.objects.exists()


def test_hrbp_sees_only_their_units_and_cannot_allow_internal(
    users: dict[str, User], client_as: Any
) -> None:
    group_sub, _ = webhook_actions.create_subscription(
        internal_body("group"), acting_user=users["admin"]
    )
    hr = client_as("hrbp.cloud")
    page = hr.get(PAGES)
    assert page.status_code == 200 and b"group" not in page.content
    assert hr.get(f"{PAGES}{group_sub.pk}/").status_code == 404
    form = hr.get(f"{PAGES}new/")
    assert b'name="internal"' not in form.content
    assert client_as("employee").get(PAGES).status_code == 403
    own, _ = webhook_actions.create_subscription(
        {
            "name": "cloud OA",
            "url": "https://93.184.215.14/hook",
            "event_types": ["*"],
            "business_unit_id": cloud_bu(users),
        },
        acting_user=users["hrbp.cloud"],
    )
    assert hr.get(f"{PAGES}{own.pk}/").status_code == 200


def test_delivery_log_replays_one_or_all_dead(users: dict[str, User], client_as: Any) -> None:
    sub, _ = webhook_actions.create_subscription(internal_body(), acting_user=users["admin"])
    dead = dead_deliveries(sub, 3)
    admin = client_as("admin")
    log = admin.get(f"{PAGES}{sub.pk}/?status=dead")
    assert log.status_code == 200 and log.content.count(b'name="delivery"') == 3
    admin.post(f"{PAGES}{sub.pk}/replay/", {"delivery": dead[0].pk})
    states = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert states[dead[0].pk] == WebhookStatus.PENDING
    assert states[dead[1].pk] == WebhookStatus.DEAD
    admin.post(f"{PAGES}{sub.pk}/replay/")
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}


def test_rotation_shows_the_new_secret_and_keeps_the_old_for_a_day(
    users: dict[str, User], client_as: Any
) -> None:
    sub, old = webhook_actions.create_subscription(internal_body(), acting_user=users["admin"])
    response = client_as("admin").post(f"{PAGES}{sub.pk}/rotate/")
    assert response.status_code == 200
    sealed = unseal(Subscription.objects.get(pk=sub.pk))
    assert sealed["previous"] == old and sealed["current"].encode() in response.content


def test_edit_saves_and_keeps_the_unit(users: dict[str, User], client_as: Any) -> None:
    sub, _ = webhook_actions.create_subscription(internal_body(), acting_user=users["admin"])
    response = client_as("admin").post(
        f"{PAGES}{sub.pk}/",
        {
            "name": "renamed",
            "url": sub.url,
            "event_types": "*",
            "internal": "on",
            "max_attempts": "3",
        },
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.event_types, sub.active, sub.max_attempts) == (
        "renamed",
        ["*"],
        False,
        3,
    )
