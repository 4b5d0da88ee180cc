"""Reminders through SMS and group robots, end to end against local servers that speak the
vendors' protocols and check their signatures: quiet hours, correlation ids, a misconfigured
channel failing clearly while the others keep working."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import pytest

from baton.core.workdays import add_working_days
from baton.handover.models import ExitCase
from baton.notify import actions, delivery
from baton.notify.models import Channel, Delivery, DeliveryStatus
from baton.notify.testing.vendors import AliyunSmsServer, DingTalkRobotServer, TencentSmsServer
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
LAST_DAY = dt.date(2026, 12, 31)
AK, SK = "LTAI-demo-key", "aliyun-secret-value"


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    leaver = approved_case.employee
    leaver.phone = "13800138000"
    leaver.save(update_fields=["phone"])
    return approved_case


def _aliyun(users: dict[str, Any], server: AliyunSmsServer, secret: str = SK) -> Channel:
    return actions.create_channel(
        {
            "name": "阿里云短信",
            "kind": "sms_aliyun",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {
                "endpoint": server.url,
                "access_key_id": AK,
                "sign_name": "华夏智造",
                "template_code": "SMS_900001",
            },
        },
        {"access_key_secret": secret},
        acting_user=users["admin"],
    )


def _first_due(case: ExitCase) -> dt.date:
    task = case.tasks.filter(owner__isnull=False).order_by("due_date").first()
    assert task is not None
    return add_working_days(task.due_date, -3)


@pytest.mark.smoke
def test_sms_reminder_is_signed_and_carries_the_delivery_id(
    users: dict[str, Any], case: ExitCase
) -> None:
    with AliyunSmsServer(access_key_id=AK, access_key_secret=SK) as server:
        _aliyun(users, server)
        now = dt.datetime.combine(_first_due(case), dt.time(10), tzinfo=SH)
        actions.run_reminders(now)
        # One message for the items due together (each item still has its delivery row).
        [request] = server.received
        assert request.signature_ok and request.code == "OK"
        assert request.form["PhoneNumbers"] == "13800138000"
        rows = list(Delivery.objects.filter(family="sms").order_by("id"))
        assert rows and {d.status for d in rows} == {DeliveryStatus.SENT}
        assert request.form["OutId"] == rows[0].idempotency_key
        assert all(d.provider_message_id and "OK" in d.response for d in rows)
        assert {d.address for d in rows} == {"13800138000"}


def test_no_sms_at_night_it_waits_for_the_morning(users: dict[str, Any], case: ExitCase) -> None:
    with AliyunSmsServer(access_key_id=AK, access_key_secret=SK) as server:
        _aliyun(users, server)
        day = _first_due(case)
        night = dt.datetime.combine(day, dt.time(22, 30), tzinfo=SH)
        actions.run_reminders(night)
        sms = Delivery.objects.filter(family="sms")
        assert set(sms.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
        assert set(sms.values_list("not_before", flat=True)) == {
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8, 30), tzinfo=SH)
        }
        assert server.received == []
        # In-app does not wait.
        inapp = Delivery.objects.filter(family="inapp")
        assert set(inapp.values_list("status", flat=True)) == {DeliveryStatus.SENT}
        morning = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8, 31), tzinfo=SH)
        delivery.dispatch(morning)
        assert set(sms.values_list("status", flat=True)) == {DeliveryStatus.SENT}
        assert len(server.received) == 1


def test_a_rejected_signature_fails_clearly_and_other_channels_still_work(
    users: dict[str, Any], case: ExitCase
) -> None:
    with AliyunSmsServer(access_key_id=AK, access_key_secret=SK) as server:
        channel = _aliyun(users, server, secret="wrong-secret")
        now = dt.datetime.combine(_first_due(case), dt.time(10), tzinfo=SH)
        actions.run_reminders(now)
        sms = Delivery.objects.filter(family="sms").first()
        assert sms is not None
        assert sms.status == DeliveryStatus.FAILED  # retrying cannot fix a wrong secret
        assert "signature" in sms.error.lower() and "SignatureDoesNotMatch" in sms.response
        assert channel.pk == sms.channel_id
        inapp = Delivery.objects.filter(family="inapp")
        assert set(inapp.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_unknown_phone_number_is_reported_not_retried(
    users: dict[str, Any], case: ExitCase
) -> None:
    Employee.objects.filter(pk=users["employee"].employee_id).update(phone="12345")
    with TencentSmsServer(secret_id="AKID-demo", secret_key="tencent-secret") as server:
        actions.create_channel(
            {
                "name": "腾讯云短信",
                "kind": "sms_tencent",
                "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
                "settings": {
                    "endpoint": server.url,
                    "secret_id": "AKID-demo",
                    "sdk_app_id": "1400000001",
                    "sign_name": "华夏智造",
                    "template_id": "100001",
                },
            },
            {"secret_key": "tencent-secret"},
            acting_user=users["admin"],
        )
        now = dt.datetime.combine(_first_due(case), dt.time(10), tzinfo=SH)
        actions.run_reminders(now)
        sms = Delivery.objects.filter(family="sms").first()
        assert sms is not None and sms.status == DeliveryStatus.FAILED
        assert "12345" in sms.error and server.received == []


def test_escalation_reaches_the_hr_robot_group_signed(
    users: dict[str, Any], case: ExitCase
) -> None:
    secret = "SEC" + "0" * 40
    with DingTalkRobotServer(access_token="tok", sign_secret=secret) as server:
        actions.create_channel(
            {
                "name": "HR 钉钉群",
                "kind": "dingtalk",
                "internal": True,  # the stand-in on 127.0.0.1 (an administrator allows it)
                "settings": {"url": server.url},
            },
            {"access_token": "tok", "sign_secret": secret},
            acting_user=users["admin"],
        )
        now = dt.datetime.combine(dt.date(2027, 1, 7), dt.time(10), tzinfo=SH)
        actions.run_reminders(now)
        im = Delivery.objects.filter(family="im")
        assert im.exists() and set(im.values_list("status", flat=True)) == {"sent"}
        assert server.received and all(r.signature_ok for r in server.received)
        assert any("升级" in json.dumps(r.json, ensure_ascii=False) for r in server.received)
