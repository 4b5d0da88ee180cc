"""The issue's "done when": on the demo, `baton reminders run --now …` produces the expected
reminders in the in-app centre and in a local mail catcher."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from baton.handover import demo as handover_demo
from baton.notify import demo as notify_demo
from baton.notify.models import Channel, Delivery, Notification
from baton.notify.testing.smtp import MailCatcher

pytestmark = pytest.mark.django_db


def test_reminders_run_on_the_demo(users: dict[str, Any], client_as: Any) -> None:
    handover_demo.showcase(log=lambda _m: None)
    notify_demo.setup(log=lambda _m: None)
    with MailCatcher() as catcher:
        channel = Channel.objects.get(family="email")
        channel.settings["port"] = catcher.port  # the test's catcher instead of :1025
        channel.save(update_fields=["settings"])
        out = io.StringIO()
        call_command("reminders", "run", "--now", notify_demo.suggested_now(), stdout=out)
        result = json.loads(out.getvalue())
        assert result["planned"] > 0 and result["sent"]["failed"] == 0
        subjects = [str(m["Subject"]) for m in catcher.messages]
        # The R&D head gets a digest; HR gets the escalation with the report.
        assert any(users["head.rd"].email in str(m["To"]) for m in catcher.messages)
        assert any("Escalation" in s or "升级" in s for s in subjects)
        # The IT queue sees its overdue items in the in-app centre.
        it_notes = Notification.objects.filter(user=users["it"])
        assert it_notes.exists()
        page = client_as("it").get("/notifications/")
        assert page.status_code == 200
        assert it_notes.first().title in page.content.decode()  # type: ignore[union-attr]
        # Once only.
        count = len(catcher.messages)
        call_command("reminders", "run", "--now", notify_demo.suggested_now(), stdout=out)
        assert len(catcher.messages) == count
        assert not Delivery.objects.filter(status="failed").exists()
