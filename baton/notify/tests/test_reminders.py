"""Reminders end to end through a real SMTP server: planned once per (rule, task, recipient,
period), decided again at send time, retried with backoff, escalated with the report."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.core.errors import InvalidInput
from baton.core.models import ScheduledRun
from baton.handover import actions as handover
from baton.handover.models import ExitCase
from baton.notify import actions, delivery, planner
from baton.notify.models import Channel, Delivery, DeliveryStatus, Notification
from baton.notify.tasks import sweep_reminders
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
LAST_DAY = dt.date(2026, 12, 31)  # a Thursday


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as c:
        yield c


@pytest.fixture
def email_channel(users: dict[str, Any], catcher: MailCatcher) -> Channel:
    return actions.create_channel(
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=users["admin"],
    )


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    return approved_case


def _mine(user: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(recipient=user).order_by("id"))


@pytest.mark.smoke
def test_overdue_sweep_reaches_owner_manager_and_hr_once(
    users: dict[str, Any], case: ExitCase, email_channel: Channel, catcher: MailCatcher
) -> None:
    now = at(dt.date(2027, 1, 7))  # 4 working days after the last day (1 Jan is a holiday)
    result = actions.run_reminders(now)
    assert result["planned"] > 0 and result["sent"]["failed"] == 0
    leaver_user = users["employee"]
    # The owner: one in-app notification and one email per rule, listing the items.
    notes = Notification.objects.filter(user=leaver_user)
    assert notes.exists()
    assert all(n.case_id == case.pk for n in notes)
    to = {str(m["To"]) for m in catcher.messages}
    assert any(leaver_user.email in t for t in to)
    # The manager gets one digest, not a message per item.
    manager = users["head.rd"]
    digests = [m for m in catcher.messages if manager.email in str(m["To"])]
    # (in the recipient's language: the demo users read Chinese)
    assert len(digests) == 1 and "摘要" in str(digests[0]["Subject"])
    # HR gets the escalation with the unfinished-items report attached.
    hr = [m for m in catcher.messages if str(m["Subject"]).startswith("升级")]
    assert hr
    attachments = [p.get_filename() for p in hr[0].iter_attachments()]
    assert attachments == [f"handover-report-{case.pk}.pdf"]
    assert AuditEntry.objects.filter(
        event_type=AuditEvent.CASE_ESCALATED, subject_id=str(case.pk)
    ).exists()
    # Every delivery is in the log with the provider's answer.
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    assert (
        sent.filter(family="email").exclude(response="").count()
        == sent.filter(family="email").count()
    )
    # Running the same moment again sends nothing twice.
    count = len(catcher.messages)
    again = actions.run_reminders(now)
    assert again["planned"] == 0 and again["digests"] == 0
    assert len(catcher.messages) == count
    # Messages carry the delivery's idempotency key as Message-ID, unique per message.
    ids = catcher.message_ids()
    assert len(ids) == len(set(ids))


def test_before_due_reminder_goes_to_owner_in_app(
    users: dict[str, Any], case: ExitCase, email_channel: Channel, catcher: MailCatcher
) -> None:
    task = case.tasks.filter(owner__isnull=False).order_by("due_date").first()
    assert task is not None
    # Three working days before the earliest due date.
    from baton.core.workdays import add_working_days

    day = add_working_days(task.due_date, -3)
    actions.run_reminders(at(day))
    mine = _mine(users["employee"])
    assert {d.family for d in mine} == {"inapp"}  # no SMS channel is configured: none planned
    assert all(d.status == DeliveryStatus.SENT for d in mine)
    assert Notification.objects.filter(user=users["employee"]).count() == 1
    note = Notification.objects.get(user=users["employee"])
    assert "到期" in note.title and note.url
    # Before the reminder hour nothing is planned (time zone of the entity: Shanghai).
    assert actions.run_reminders(at(day + dt.timedelta(days=1), hour=7))["planned"] == 0


def test_a_moved_due_date_or_a_finished_task_never_yields_a_stale_reminder(
    users: dict[str, Any], case: ExitCase, email_channel: Channel, catcher: MailCatcher
) -> None:
    now = at(dt.date(2027, 1, 7))
    result = planner.plan(now)
    assert result.planned > 0
    # Before sending: one task is finished, and the last day (hence the due dates) moves.
    done = case.tasks.filter(owner_queue="hr").first() or case.tasks.first()
    assert done is not None
    handover.waive_task(done, acting_user=users["hrbp.cloud"], reason="不适用")
    handover.change_last_day(case, dt.date(2027, 1, 29), acting_user=users["hrbp.cloud"])
    report = delivery.dispatch(now)
    assert report.sent == 0 or all("digest" in str(m["Subject"]).lower() for m in catcher.messages)
    skipped = Delivery.objects.filter(status=DeliveryStatus.SKIPPED).exclude(kind="digest")
    assert skipped.count() == Delivery.objects.exclude(kind="digest").count()
    reasons = set(skipped.values_list("error", flat=True))
    assert any("due date moved" in r for r in reasons)
    assert any("Waived" in r for r in reasons) or any("due date moved" in r for r in reasons)


def test_provider_errors_retry_with_backoff_then_fail(
    users: dict[str, Any], case: ExitCase, settings: Any
) -> None:
    settings.BATON_DELIVERY_MAX_ATTEMPTS = 2
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    actions.create_channel(
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {"host": "127.0.0.1", "port": dead_port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=users["admin"],
    )
    now = at(dt.date(2027, 1, 7))
    actions.run_reminders(now)
    mail = Delivery.objects.filter(family="email").exclude(status=DeliveryStatus.SKIPPED)
    assert mail.exists()
    assert set(mail.values_list("status", flat=True)) == {DeliveryStatus.RETRY}
    first = mail.first()
    assert first is not None and first.not_before > now
    assert "Cannot reach the SMTP server" in first.error
    # In-app deliveries are unaffected by the broken channel.
    assert (
        not Delivery.objects.filter(family="inapp")
        .exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.SKIPPED])
        .exists()
    )
    # Not before its time; then the second attempt gives up.
    assert delivery.dispatch(now).claimed == 0
    later = now + dt.timedelta(hours=1)
    delivery.dispatch(later)
    assert set(mail.values_list("status", flat=True)) == {DeliveryStatus.FAILED}


def test_wrong_smtp_password_is_a_clear_error_on_the_channel(users: dict[str, Any]) -> None:
    with MailCatcher(username="baton", password="right-password") as c:
        channel = actions.create_channel(
            {
                "name": "Mail",
                "kind": "email",
                "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
                "settings": {
                    "host": "127.0.0.1",
                    "port": c.port,
                    "from_email": "hr@hx.example",
                    "username": "baton",
                },
            },
            {"password": "wrong"},
            acting_user=users["admin"],
        )
        d = actions.test_channel(channel, acting_user=users["admin"])
        channel.refresh_from_db()
        assert d.status == DeliveryStatus.FAILED
        assert channel.last_test_ok is False
        assert "refused the user name or password" in channel.last_error
        actions.update_channel(
            channel, {}, {"password": "right-password"}, acting_user=users["admin"]
        )
        d = actions.test_channel(channel, acting_user=users["admin"])
        assert d.status == DeliveryStatus.SENT and len(c.messages) == 1
    # The password is stored encrypted, never in the settings.
    channel.refresh_from_db()
    assert b"right-password" not in bytes(channel.secrets_blob)
    assert "password" not in channel.settings


def test_bad_channel_settings_name_the_field(users: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        actions.create_channel(
            {"name": "Mail", "kind": "email", "settings": {"host": "", "port": 25}},
            {},
            acting_user=users["admin"],
        )
    assert "host" in str(err.value.field_errors)
    with pytest.raises(InvalidInput) as err:
        actions.create_channel(
            {
                "name": "Mail",
                "kind": "email",
                "settings": {"host": "mail", "port": 25, "from_email": "not-an-address"},
            },
            {},
            acting_user=users["admin"],
        )
    assert "from_email" in str(err.value.field_errors)
    assert not Channel.objects.exists()
    # Only group admins configure group-wide channels.
    with pytest.raises(PermissionDenied):
        actions.create_channel(
            {
                "name": "Mail",
                "kind": "email",
                "settings": {"host": "mail", "port": 25, "from_email": "a@b.example"},
            },
            {},
            acting_user=users["hrbp.cloud"],
        )


def test_users_choose_channels_within_what_is_allowed(
    users: dict[str, Any], case: ExitCase, email_channel: Channel
) -> None:
    me = users["employee"]
    actions.set_preferences(me, ["email"], acting_user=me)
    actions.run_reminders(at(dt.date(2027, 1, 7)))
    assert set(Delivery.objects.filter(recipient=me).values_list("family", flat=True)) == {"inapp"}
    with pytest.raises(InvalidInput) as err:
        actions.set_preferences(me, ["inapp"], acting_user=me)
    assert "In-app" in str(err.value.field_errors["disabled"])
    actions.set_preferences(me, [], acting_user=me)
    actions.update_channel(email_channel, {"mandatory": True}, acting_user=users["admin"])
    with pytest.raises(InvalidInput) as err:
        actions.set_preferences(me, ["email"], acting_user=me)
    assert "requires" in str(err.value.field_errors["disabled"])


def test_the_sweep_costs_a_fixed_number_of_queries(
    users: dict[str, Any], case: ExitCase, email_channel: Channel
) -> None:
    with CaptureQueriesContext(connection) as one:
        planner.plan(at(dt.date(2027, 1, 7)))
    # Three more leavers' cases: three times the tasks, the same statements.
    for emp in Employee.objects.filter(
        status="active", manager__isnull=False, user__isnull=True
    ).order_by("id")[:3]:
        from baton.handover.demo import person_user

        c = handover.open_case(
            emp,
            acting_user=person_user(emp),
            exit_type="resignation",
            last_working_day=LAST_DAY,
            reason="测试",
            submit=True,
        )
        handover.approve_case(c, acting_user=users["admin"])
    with CaptureQueriesContext(connection) as four:
        result = planner.plan(at(dt.date(2027, 1, 8)))
    assert result.tasks_considered > 30
    assert len(four) == len(one) <= 20, [x["sql"][:80] for x in four]


def test_claim_is_exclusive_and_a_dead_workers_send_is_retried(
    users: dict[str, Any], case: ExitCase, settings: Any
) -> None:
    now = at(dt.date(2027, 1, 7))
    planner.plan(now)
    ids = list(Delivery.objects.values_list("id", flat=True))
    first = delivery.claim(ids, now, "worker-a")
    assert first and delivery.claim(ids, now, "worker-b") == []
    # worker-a dies: its rows stay 'sending' — visible — until the timeout passes.
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sending"}
    settings.BATON_DELIVERY_SENDING_TIMEOUT = 0
    again = delivery.claim(ids, now, "worker-b")
    assert {d.pk for d in again} == {d.pk for d in first}
    assert all(d.attempts == 2 and d.claimed_by == "worker-b" for d in again)


def test_keys_rotate_reencrypts_channel_secrets(users: dict[str, Any], settings: Any) -> None:
    import base64
    import os

    from baton.notify.secrets import read_secrets

    settings.BATON_FILE_KEYS = {
        "k1": base64.b64encode(os.urandom(32)).decode(),
        "k2": base64.b64encode(os.urandom(32)).decode(),
    }
    settings.BATON_FILE_KEY_CURRENT = "k1"
    channel = actions.create_channel(
        {
            "name": "Mail",
            "kind": "email",
            "settings": {"host": "mail", "port": 25, "from_email": "a@b.example", "username": "u"},
        },
        {"password": "s3cret"},
        acting_user=users["admin"],
    )
    assert channel.secrets_key_id == "k1"
    settings.BATON_FILE_KEY_CURRENT = "k2"
    assert actions.reencrypt_channel_secrets() == 1
    channel.refresh_from_db()
    assert channel.secrets_key_id == "k2" and read_secrets(channel) == {"password": "s3cret"}
    assert actions.reencrypt_channel_secrets() == 0


def test_the_workers_clock_starts_each_slot_once(settings: Any) -> None:
    from baton.core import schedule

    settings.BATON_SCHEDULER_INTERVAL = 60
    mine = {"reminders", "redeliver"}

    def started(when: dt.datetime) -> set[str]:
        return {s.split()[0] for s in schedule.tick(when)} & mine

    now = at(dt.date(2027, 1, 7))
    assert started(now) == mine
    # A second worker ticking at the same moment starts nothing.
    assert schedule.tick(now + dt.timedelta(seconds=5)) == []
    # The next minute: redelivery again; the next hour: the sweep again.
    assert started(now + dt.timedelta(minutes=1)) == {"redeliver"}
    assert started(now + dt.timedelta(hours=1)) == mine


def test_the_workers_sweep_hands_the_sending_to_send_deliveries(
    users: dict[str, Any], case: ExitCase, email_channel: Channel, catcher: MailCatcher
) -> None:
    """The sweep task plans, then hands each batch to `send_deliveries` (passed in by
    tasks.py, which imports the planner and the delivery code) instead of sending itself."""
    now = at(dt.date(2027, 1, 7))
    run = ScheduledRun.objects.create(job="reminders", slot="test")
    result = sweep_reminders.call(run.pk, now.isoformat())
    assert result["planned"] > 0 and result["sent"]["sent"] == 0
    queued = DBTaskResult.objects.filter(task_path="baton.notify.tasks.send_deliveries")
    assert queued.exists()
    assert all(r.args_kwargs["args"][1] == now.isoformat() for r in queued)
    assert catcher.messages == []  # nothing sent in the sweep itself
