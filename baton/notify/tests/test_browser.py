"""The notification UI in a real browser (headless Debian Chromium via Playwright): the bell's
count arrives by HTMX, marking read updates the item and the bell without a reload, a channel's
test result appears in place, and the case page loads "Reminders sent" lazily — all under the
strict CSP (no violations reported).

Clicks go by stable selectors (form actions, ids, classes), never by translated labels.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest

from baton.access.models import User
from baton.core.tests import browser_fixtures
from baton.handover import actions as handover
from baton.handover import packs
from baton.notify import actions
from baton.notify.models import Channel, Delivery, DeliveryKind, Notification
from baton.org.models import Employee

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

browser = browser_fixtures.browser
open_tab = browser_fixtures.open_tab


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bell_centre_and_channel_test_work_in_place(open_tab: Any) -> None:
    employee = User.objects.get(username="employee")
    for i in range(3):
        Notification.objects.create(
            user=employee,
            kind=DeliveryKind.REMINDER,
            title=f"提醒 {i}",
            body="交接事项即将到期",
            url="/handover/tasks/",
        )
    tab = open_tab()
    tab.login("employee")
    page = tab.page
    tab.goto("/handover/tasks/")
    page.wait_for_selector("#notify-badge .bell-count")
    assert page.inner_text("#notify-badge .bell-count") == "3"
    # The centre: mark one read, then all; the bell follows without a reload.
    page.click("a.bell")
    page.wait_for_selector("li.note.unread")
    marker = page.evaluate("window.__noReload = 1")
    assert marker == 1
    first = Notification.objects.filter(user=employee).order_by("-created_at", "-id").first()
    assert first is not None
    page.click(f"#note-{first.pk} form button")
    page.wait_for_selector(f"#note-{first.pk}:not(.unread)")
    page.wait_for_function(
        "document.querySelector('#notify-badge .bell-count')?.textContent === '2'"
    )
    page.click("form[action='/notifications/read/'] button")
    page.wait_for_selector("li.note.unread", state="detached")
    page.wait_for_selector("#notify-badge .bell-count", state="detached")
    assert page.evaluate("window.__noReload") == 1
    assert not Notification.objects.filter(user=employee, read_at=None).exists()
    assert tab.csp_violations() == []

    # A group admin tests a channel whose SMTP port refuses: the error appears in place.
    admin = User.objects.get(username="admin")
    channel = actions.create_channel(
        {
            "name": "集团邮件",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {
                "host": "127.0.0.1",
                "port": _closed_port(),
                "from_email": "hr@hx.example",
            },
        },
        {},
        acting_user=admin,
    )
    hr = open_tab()
    hr.login("admin")
    hr.goto("/settings/channels/")
    hr.page.evaluate("window.__noReload = 1")
    hr.page.click(f"form[action='/settings/channels/{channel.pk}/test/'] button")
    hr.page.wait_for_selector(f"#channel-test-{channel.pk} .error-text")
    shown = hr.page.inner_text(f"#channel-test-{channel.pk} .error-text")
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.last_test_ok is False and shown.strip() == channel.last_error.strip()
    assert hr.page.evaluate("window.__noReload") == 1
    assert hr.csp_violations() == []
    assert channel.last_test_at is not None
    assert channel.last_test_at > dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_case_page_loads_reminders_sent_lazily(open_tab: Any) -> None:
    admin = User.objects.get(username="admin")
    packs.install(acting_user=admin)
    leaver = Employee.objects.get(pk=User.objects.get(username="employee").employee_id)
    case = handover.open_case(
        leaver,
        acting_user=User.objects.get(username="employee"),
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        reason="职业发展",
        submit=True,
    )
    case = handover.approve_case(case, acting_user=User.objects.get(username="head.rd"))
    actions.run_reminders(dt.datetime(2027, 1, 7, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    sent = Delivery.objects.filter(case=case).count()
    assert sent > 0
    tab = open_tab()
    tab.login("auditor")
    tab.goto(f"/handover/cases/{case.pk}/")
    tab.page.wait_for_selector("#case-deliveries tr[id^=delivery-]")
    assert tab.page.locator("#case-deliveries tr[id^=delivery-]").count() == sent
    assert tab.csp_violations() == []
