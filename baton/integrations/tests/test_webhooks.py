"""Events out: written with the change that caused them, delivered as signed CloudEvents that
verify with the `standardwebhooks` library, in order per subject, retried, dead-lettered,
replayed; the URL guard; secret rotation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from baton.core.errors import InvalidInput
from baton.handover import actions as handover
from baton.handover import packs
from baton.handover.models import ExitCase
from baton.integrations import webhooks
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import Event, Subscription, WebhookDelivery
from baton.integrations.testing.receiver import Receiver
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date(2026, 12, 31)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def subscription(users: dict[str, Any], receiver: Receiver) -> Subscription:
    sub, secret = webhook_actions.create_subscription(
        {"name": "OA", "url": receiver.url, "event_types": ["case.*", "task.*"], "internal": True},
        acting_user=users["admin"],
    )
    receiver.secret = secret
    return sub


@pytest.mark.smoke
def test_events_are_signed_cloudevents_in_order(
    users: dict[str, Any], approved_case: ExitCase, subscription: Subscription, receiver: Receiver
) -> None:
    case = approved_case
    result = webhooks.deliver(budget_s=10)
    assert result["delivered"] > 2 and result.get("retry", 0) == 0
    got = receiver.received
    assert got and all(r.verified for r in got)  # verified by the standardwebhooks library
    events = receiver.events()
    types = [e["type"] for e in events]
    case_events = [e for e in events if e["subject"] == f"cases/{case.pk}"]
    assert [e["type"] for e in case_events] == ["case.submitted", "case.approved"]
    assert types.count("task.assigned") == case.tasks.count()
    first = case_events[1]
    assert first["specversion"] == "1.0" and first["subject"] == f"cases/{case.pk}"
    assert first["data"]["id"] == case.pk and first["data"]["state"] == "approved"
    assert first["time"].endswith("Z") and first["source"].endswith("/baton")
    # webhook-id is the CloudEvent id: stable across retries, for receivers to dedupe.
    assert {r.headers["webhook-id"] for r in got} == {e["id"] for e in events}
    # Delivered once: nothing is left to send.
    assert webhooks.deliver(budget_s=5)["fanned_out"] == 0
    assert len(receiver.received) == len(got)


def test_no_event_without_its_change(users: dict[str, Any], subscription: Subscription) -> None:
    before = Event.objects.count()
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    with pytest.raises(InvalidInput):
        handover.open_case(
            leaver,
            acting_user=users["employee"],
            exit_type="resignation",
            last_working_day=dt.date(2020, 1, 1),  # before hire: refused, nothing written
            reason="",
            submit=True,
        )
    assert Event.objects.count() == before


def test_the_url_guard(users: dict[str, Any]) -> None:
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidInput) as err:
            webhook_actions.create_subscription(
                {"name": "x", "url": url, "event_types": ["*"]}, acting_user=users["admin"]
            )
        assert "url" in err.value.field_errors
    with pytest.raises(InvalidInput) as err:
        webhook_actions.create_subscription(
            {"name": "x", "url": "ftp://example.com/", "event_types": ["*"], "internal": True},
            acting_user=users["admin"],
        )
    with pytest.raises(InvalidInput):
        webhook_actions.create_subscription(
            {"name": "x", "url": "https://u:p@example.com/", "event_types": ["*"]},
            acting_user=users["admin"],
        )
    # Only administrators may allow internal addresses.
    with pytest.raises((InvalidInput, PermissionDenied)):
        webhook_actions.create_subscription(
            {"name": "x", "url": "http://127.0.0.1:9/", "event_types": ["*"], "internal": True},
            acting_user=users["hrbp.cloud"],
        )
    assert not Subscription.objects.exists()


def test_a_receiver_down_for_an_hour_gets_everything_afterwards_in_order(
    users: dict[str, Any], approved_case: ExitCase, subscription: Subscription, receiver: Receiver
) -> None:
    receiver.status = 503
    case = approved_case
    handover.change_last_day(case, dt.date(2027, 1, 8), acting_user=users["hrbp.cloud"])
    now = dt.datetime.now(dt.UTC)
    webhooks.deliver(now, budget_s=5)
    assert not receiver.received
    open_ = WebhookDelivery.objects.filter(status__in=["pending", "retry"])
    assert open_.exists()
    # While down: per subject only the first event is attempted; the rest wait behind it.
    case_rows = WebhookDelivery.objects.filter(subject=f"cases/{case.pk}").order_by("event_id")
    assert [d.attempts for d in case_rows] == [1, 0, 0]
    # An hour of retries with backoff.
    t = now
    for _ in range(8):
        t += dt.timedelta(minutes=8)
        webhooks.deliver(t, budget_s=5)
    receiver.status = 204
    for _ in range(6):
        t += dt.timedelta(minutes=20)
        webhooks.deliver(t, budget_s=5)
    assert not open_.exists()
    case_events = [e for e in receiver.events() if e["subject"] == f"cases/{case.pk}"]
    assert [e["type"] for e in case_events] == ["case.submitted", "case.approved", "case.updated"]
    assert all(r.verified for r in receiver.received)


def test_dead_letter_and_replay(
    users: dict[str, Any], approved_case: ExitCase, subscription: Subscription, receiver: Receiver
) -> None:
    webhook_actions.update_subscription(
        subscription, {"max_attempts": 1}, acting_user=users["admin"]
    )
    receiver.status = 500
    webhooks.deliver(budget_s=5)
    dead = WebhookDelivery.objects.filter(status="dead")
    assert dead.exists() and "HTTP 500" in dead.first().error  # type: ignore[union-attr]
    receiver.status = 204
    count = dead.count()
    assert webhook_actions.replay(subscription, None, acting_user=users["admin"]) == count
    webhooks.deliver(budget_s=10)
    assert not WebhookDelivery.objects.exclude(status="delivered").exists()


def test_rotation_signs_with_both_secrets(
    users: dict[str, Any], approved_case: ExitCase, subscription: Subscription, receiver: Receiver
) -> None:
    old = receiver.secret
    new = webhook_actions.rotate_secret(subscription, acting_user=users["admin"])
    assert new != old and new.startswith("whsec_")
    webhooks.deliver(budget_s=10)
    from standardwebhooks import Webhook

    r = receiver.received[0]
    assert len(r.headers["webhook-signature"].split()) == 2
    Webhook(new).verify(r.body, r.headers)
    Webhook(old).verify(r.body, r.headers)  # receivers still on the old secret keep working


def test_confidential_handover_publishes_nothing_until_revealed(
    users: dict[str, Any], subscription: Subscription, receiver: Receiver
) -> None:
    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    case = handover.open_case(
        leaver,
        acting_user=users["hrbp.cloud"] if leaver.business_unit.code == "C" else users["admin"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        reason="预离职交接",
        confidential=True,
    )
    assert not Event.objects.filter(subject=f"cases/{case.pk}").exists()
    handover.reveal_case(case, acting_user=users["admin"])
    assert Event.objects.filter(subject=f"cases/{case.pk}", type="case.revealed").exists()


def test_task_overdue_is_published_once_per_due_date(
    users: dict[str, Any], approved_case: ExitCase, subscription: Subscription, receiver: Receiver
) -> None:
    from baton.integrations.overdue import emit_overdue

    # The handover tasks (the statutory deadlines' tasks fall due later, up to 30 days on).
    open_tasks = approved_case.tasks.filter(due_date__lt=dt.date(2027, 1, 7)).count()
    assert emit_overdue(dt.date(2026, 12, 1)) == 0  # nothing overdue yet
    made = emit_overdue(dt.date(2027, 1, 7))
    assert made == open_tasks
    assert emit_overdue(dt.date(2027, 1, 7)) == 0  # once
    webhooks.deliver(budget_s=10)
    overdue = [e for e in receiver.events() if e["type"] == "task.overdue"]
    assert len(overdue) == open_tasks
    assert {e["data"]["case_id"] for e in overdue} == {approved_case.pk}
    # A moved due date that passes again is a new event.
    handover.change_last_day(approved_case, dt.date(2027, 1, 29), acting_user=users["hrbp.cloud"])
    assert emit_overdue(dt.date(2027, 1, 8)) == 0
    assert emit_overdue(dt.date(2027, 3, 1)) == approved_case.tasks.count()
