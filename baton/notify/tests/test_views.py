"""The notification pages: the bell and centre, the user's channel choices, channel settings
(with a real SMTP server), reminder rules, and the delivery log (per case and in full)."""

from __future__ import annotations

import datetime as dt
import re
import socket
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baton.access.models import User
from baton.audit.models import AuditEntry
from baton.handover import packs
from baton.handover.models import ChecklistTemplate, ExitCase
from baton.notify import actions
from baton.notify.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notification,
    Preference,
    ReminderRule,
)
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import BusinessUnit, Employee

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
LAST_DAY = dt.date(2026, 12, 31)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    """The demo users read Chinese; these tests read the English source strings."""
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def text(response: Any) -> str:
    return response.content.decode()


def field_html(body: str, name: str) -> str:
    """One form field's markup: its label, input, help and errors."""
    rest = body[body.index(f'for="id_{name}"') :]
    ends = [i for i in (rest.find('<div class="field'), rest.find("</fieldset>")) if i >= 0]
    return rest[: min(ends)].replace("&#x27;", "'")


def closed_port() -> int:
    """A local port nothing listens on (connecting is refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notes(user: User, n: int, *, read: int = 0) -> list[Notification]:
    """Test data: `n` notifications for the user, the first `read` of them read."""
    now = dt.datetime(2026, 6, 1, 9, tzinfo=SH)
    made = []
    for i in range(n):
        note = Notification.objects.create(
            user=user,
            kind=DeliveryKind.REMINDER,
            title=f"Reminder {i}",
            body=f"Item {i} is due",
            url=f"/handover/tasks/{i + 1}/",
        )
        Notification.objects.filter(pk=note.pk).update(
            created_at=now + dt.timedelta(minutes=i),
            read_at=now if i < read else None,
        )
        made.append(note)
    return made


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as c:
        yield c


def email_data(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Group mail",
        "business_unit": "",
        "enabled": "on",
        "quiet_start": "21:00",
        "quiet_end": "08:30",
        "host": "127.0.0.1",
        "port": str(port),
        "from_email": "hr@hx.example",
        "security": "none",
        # The local mail catcher: allowed by the group administrator (HR do not see the switch).
        "internal": "on",
        **extra,
    }


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    return approved_case


@pytest.fixture
def reminded(case: ExitCase) -> ExitCase:
    """The case four working days after its last day: the reminder run has sent its
    reminders and escalation (in-app: no other channel is configured)."""
    actions.run_reminders(dt.datetime(2027, 1, 7, 10, tzinfo=SH))
    assert Delivery.objects.filter(case=case).exists()
    return case


# ---------------------------------------------------------------- the bell and the centre


def test_bell_polls_the_badge_and_only_for_inbox_holders(
    client_as: Any, users: dict[str, User]
) -> None:
    notes(users["employee"], 3, read=1)
    home = text(client_as("employee").get("/handover/tasks/"))
    bell = re.search(r'<span id="notify-badge"[^>]*>', home)
    assert bell is not None
    assert 'hx-get="/notifications/badge/"' in bell.group(0)
    assert 'hx-trigger="load, every 30s"' in bell.group(0)
    assert "style=" not in bell.group(0)
    # The badge partial: the unread count only, no page around it.
    badge = client_as("employee").get("/notifications/badge/")
    assert badge.status_code == 200
    body = text(badge)
    assert '<span class="bell-count">2</span>' in body and "<html" not in body
    # Nothing unread: an empty badge.
    assert "bell-count" not in text(client_as("auditor").get("/notifications/badge/"))
    # Signed out: htmx stops polling (286) instead of swapping in the sign-in page.
    assert client_as(None).get("/notifications/badge/").status_code == 286


def test_centre_lists_own_notifications_newest_first_unread_highlighted(
    client_as: Any, users: dict[str, User]
) -> None:
    mine = notes(users["employee"], 3, read=1)
    notes(users["receiver"], 2)
    response = client_as("employee").get("/notifications/")
    assert response.status_code == 200
    body = text(response)
    positions = [body.index(f"Reminder {i}<") for i in (2, 1, 0)]
    assert positions == sorted(positions), "newest first"
    assert f'id="note-{mine[2].pk}" class="note unread"' in body
    assert f'id="note-{mine[0].pk}" class="note"' in body
    assert 'href="/handover/tasks/3/"' in body
    assert body.count('<li id="note-') == 3  # none of the receiver's
    assert "2 unread" in body


def test_mark_one_read_swaps_the_item_and_updates_the_badge(
    client_as: Any, users: dict[str, User]
) -> None:
    mine = notes(users["employee"], 3)
    client = client_as("employee")
    response = client.post(f"/notifications/{mine[1].pk}/read/", headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert f'<li id="note-{mine[1].pk}" class="note">' in body
    assert (
        '<span id="notify-badge" hx-swap-oob="innerHTML"><span class="bell-count">2</span>' in body
    )
    assert Notification.objects.get(pk=mine[1].pk).read_at is not None
    assert Notification.objects.filter(user=users["employee"], read_at=None).count() == 2
    # Someone else's notification: not found, and untouched.
    other = notes(users["receiver"], 1)[0]
    assert client.post(f"/notifications/{other.pk}/read/", headers=HTMX).status_code == 404
    assert Notification.objects.get(pk=other.pk).read_at is None
    # Without HTMX: back to the centre.
    response = client.post(f"/notifications/{mine[0].pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"


def test_mark_all_read_swaps_the_list_and_empties_the_badge(
    client_as: Any, users: dict[str, User]
) -> None:
    notes(users["employee"], 4, read=1)
    other = notes(users["receiver"], 1)[0]
    response = client_as("employee").post("/notifications/read/", {"page": "1"}, headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="note-list">')
    assert "note unread" not in body and "0 unread" in body
    assert '<span id="notify-badge" hx-swap-oob="innerHTML"></span>' in body
    assert not Notification.objects.filter(user=users["employee"], read_at=None).exists()
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_centre_costs_the_same_queries_for_3_or_60_notifications(
    client_as: Any, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    client = client_as("employee")
    notes(users["employee"], 3)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/notifications/").status_code == 200
        return len(ctx)

    few = count()
    notes(users["employee"], 57, read=10)
    with django_assert_max_num_queries(8):
        response = client.get("/notifications/")
    assert text(response).count('<li id="note-') == 50  # one page
    assert count() == few
    # Marking all read: one locking read and one bulk update, however many there are.
    with django_assert_max_num_queries(12):
        assert client.post("/notifications/read/", headers=HTMX).status_code == 200


# ---------------------------------------------------------------- the user's channels


def test_preferences_switch_channels_and_show_the_organisations_rules(
    client_as: Any, users: dict[str, User], catcher: MailCatcher
) -> None:
    me = users["employee"]
    client = client_as("employee")
    page = text(client.get("/notifications/preferences/"))
    assert re.search(r"<input type=\"checkbox\" checked disabled> In-app", page)
    assert "Not set up by your organisation yet." in page
    response = client.post("/notifications/preferences/", {"enabled": ["sms"]})
    assert response.status_code == 302
    assert Preference.objects.get(user=me).disabled == ["email", "im"]
    # The organisation makes email mandatory: shown ticked and locked, with a note.
    channel = actions.create_channel(
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=users["admin"],
    )
    actions.update_channel(channel, {"mandatory": True}, acting_user=users["admin"])
    page = text(client.get("/notifications/preferences/"))
    assert re.search(r'value="email" id="id_enabled_email"\s+checked disabled', page)
    assert "Required by your organisation" in page
    # Saving the page as shown keeps email on (the locked box is not sent by browsers).
    response = client.post(
        "/notifications/preferences/", {"enabled": ["sms"], "mandatory_shown": "email"}
    )
    assert response.status_code == 302
    assert Preference.objects.get(user=me).disabled == ["im"]
    # A page from before email became mandatory: refused, next to the field, nothing saved.
    before = AuditEntry.objects.count()
    response = client.post("/notifications/preferences/", {"enabled": ["sms"]})
    assert response.status_code == 400
    body = text(response)
    fieldset = body[body.index('<fieldset class="field has-error">') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert "Your organisation requires these channels: Mail" in fieldset
    assert Preference.objects.get(user=me).disabled == ["im"]
    assert AuditEntry.objects.count() == before
    # The user's settings page links here.
    assert "/notifications/preferences/" in text(client.get("/me/"))


# ---------------------------------------------------------------- channels


def test_channel_list_shows_state_per_family_and_not_configured(
    client_as: Any, users: dict[str, User], catcher: MailCatcher
) -> None:
    page = text(client_as("admin").get("/settings/channels/"))
    assert page.count("not configured") == 3
    channel = actions.create_channel(
        {
            "name": "Group mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "mandatory": True,
            "settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=users["admin"],
    )
    page = text(client_as("admin").get("/settings/channels/"))
    assert page.count("not configured") == 2
    row = page[page.index(f'id="channel-{channel.pk}"') :]
    assert "Group mail" in row and "The whole group" in row and "mandatory" in row
    assert "never tested" in row
    # An HRBP sees their business units' channels only; others may not come in.
    assert "Group mail" not in text(client_as("hrbp.cloud").get("/settings/channels/"))
    assert client_as("employee").get("/settings/channels/").status_code == 403
    assert client_as("auditor").get("/settings/channels/").status_code == 403


def test_channel_create_with_a_missing_field_shows_the_error_and_writes_nothing(
    client_as: Any, users: dict[str, User]
) -> None:
    client = client_as("admin")
    form = text(client.get("/settings/channels/new/email/"))
    assert 'type="password"' in form and 'name="password"' in form
    before = AuditEntry.objects.count()
    response = client.post("/settings/channels/new/email/", email_data(25, host=""))
    assert response.status_code == 400
    body = text(response)
    assert "“host” is required." in field_html(body, "host")
    assert not Channel.objects.exists()
    assert AuditEntry.objects.count() == before
    # A second channel for the same family and place: said plainly, next to the place.
    response = client.post("/settings/channels/new/email/", email_data(25))
    assert response.status_code == 302
    response = client.post("/settings/channels/new/email/", email_data(26, name="Other"))
    assert response.status_code == 409
    assert "already has a channel for the whole group" in text(response)
    assert Channel.objects.count() == 1
    assert client.get("/settings/channels/new/carrier-pigeon/").status_code == 404


def test_hrbp_cannot_create_a_group_wide_channel(client_as: Any, users: dict[str, User]) -> None:
    client = client_as("hrbp.cloud")
    before = AuditEntry.objects.count()
    response = client.post("/settings/channels/new/email/", email_data(25, business_unit=""))
    assert response.status_code == 403
    assert "Only group administrators configure channels for the whole group." in text(response)
    assert not Channel.objects.exists() and AuditEntry.objects.count() == before
    # Their own business unit's channel is theirs to set up (the form starts with it).
    bu = Employee.objects.get(pk=users["employee"].employee_id).business_unit_id
    assert f'<option value="{bu}" selected>' in text(client.get("/settings/channels/new/email/"))
    response = client.post(
        "/settings/channels/new/email/",
        email_data(25, business_unit=bu, host="smtp.hx.invalid"),
    )
    assert response.status_code == 302
    assert Channel.objects.get().business_unit_id == bu
    # Another unit is not in the list to choose from.
    other = BusinessUnit.objects.exclude(pk=bu).first()
    assert other is not None
    response = client.post("/settings/channels/new/sms_aliyun/", {"business_unit": other.pk})
    assert response.status_code == 400 and Channel.objects.count() == 1


def test_secrets_are_write_only_and_kept_when_left_empty(
    client_as: Any, users: dict[str, User]
) -> None:
    client = client_as("admin")
    data = {
        "name": "Robot",
        "business_unit": "",
        "enabled": "on",
        "quiet_start": "21:00",
        "quiet_end": "08:30",
        "url": "https://oapi.dingtalk.com/robot/send",
        "access_token": "token-value-123",
        "sign_secret": "SECsecret-value-456",
    }
    assert client.post("/settings/channels/new/dingtalk/", data).status_code == 302
    channel = Channel.objects.get()
    page = text(client.get(f"/settings/channels/{channel.pk}/"))
    assert "token-value-123" not in page and "SECsecret-value-456" not in page
    assert page.count("Set. Leave empty to keep it") == 2
    response = client.post(
        f"/settings/channels/{channel.pk}/",
        {**data, "name": "DingTalk robot", "access_token": "", "sign_secret": ""},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "DingTalk robot"
    from baton.notify.secrets import read_secrets

    assert read_secrets(channel) == {
        "access_token": "token-value-123",
        "sign_secret": "SECsecret-value-456",
    }
    # A wrong secret is refused next to its field.
    response = client.post(
        f"/settings/channels/{channel.pk}/", {**data, "sign_secret": "not-a-sign-secret"}
    )
    assert response.status_code == 400
    body = text(response)
    assert "must be the robot's signing secret" in field_html(body, "sign_secret")


def test_send_test_shows_the_error_for_an_unreachable_smtp_port(
    client_as: Any, users: dict[str, User], catcher: MailCatcher
) -> None:
    client = client_as("admin")
    port = closed_port()
    assert client.post("/settings/channels/new/email/", email_data(port)).status_code == 302
    channel = Channel.objects.get()
    response = client.post(f"/settings/channels/{channel.pk}/test/", headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    channel.refresh_from_db()
    assert channel.last_test_ok is False
    assert f"Cannot reach the SMTP server 127.0.0.1:{port}" in channel.last_error
    assert body.lstrip().startswith(f'<div id="channel-test-{channel.pk}"')
    assert "Failed" in body and 'role="alert"' in body
    assert channel.last_error.split(" (")[0] in body
    # The list shows the error in full too, and the attempt is in the delivery log.
    assert channel.last_error in text(client.get("/settings/channels/")).replace("&#x27;", "'")
    assert Delivery.objects.get(kind=DeliveryKind.TEST).status == DeliveryStatus.FAILED
    # Pointed at a working server, the test goes through to the acting user.
    response = client.post(
        f"/settings/channels/{channel.pk}/", email_data(catcher.port, name="Group mail")
    )
    assert response.status_code == 302
    body = text(client.post(f"/settings/channels/{channel.pk}/test/", headers=HTMX))
    assert "OK" in body and "Sent to" in body
    assert len(catcher.messages) == 1
    # An HRBP cannot test (or see) a group-wide channel.
    assert client_as("hrbp.cloud").post(f"/settings/channels/{channel.pk}/test/").status_code == 404


# ---------------------------------------------------------------- reminder rules


def rule_data(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Owner, two days before",
        "template": "",
        "item_key": "",
        "offset": "-2",
        "repeat": "once",
        "audience": "owner",
        "channels": ["inapp", "email"],
        "mode": "immediate",
        "is_active": "on",
        **extra,
    }


def test_rules_create_edit_delete(client_as: Any, users: dict[str, User]) -> None:
    actions.ensure_default_rules()
    packs.install(acting_user=users["admin"])
    client = client_as("admin")
    page = text(client.get("/settings/reminders/"))
    # The nameless defaults are described in words.
    assert "3 working day(s) before the due date → The task owner" in page
    response = client.post("/settings/reminders/new/", rule_data())
    assert response.status_code == 302
    rule = ReminderRule.objects.get(name="Owner, two days before")
    assert rule.template_id is None and rule.channels == ["inapp", "email"]
    # Bad input is refused next to the field.
    response = client.post("/settings/reminders/new/", rule_data(channels=[], name="None"))
    assert response.status_code == 400
    assert "Choose at least one channel." in text(response)
    response = client.post(
        "/settings/reminders/new/", rule_data(repeat="daily", offset="-1", name="Daily early")
    )
    assert response.status_code == 400
    assert "Daily reminders are for overdue items" in text(response)
    # Edit.
    response = client.post(
        f"/settings/reminders/{rule.pk}/", rule_data(offset="-4", channels=["sms"])
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.offset == -4 and rule.channels == ["sms"]
    # A checklist's rule, from the checklist page's link (the checklist pre-filled).
    template = ChecklistTemplate.objects.get(position_family__code="engineering")
    form = text(client.get(f"/settings/reminders/new/?template={template.pk}"))
    assert f'<option value="{template.pk}" selected>' in form
    response = client.post(
        "/settings/reminders/new/",
        rule_data(
            name="Repos: the HRBP",
            template=template.pk,
            item_key="repositories",
            audience="hrbp",
            offset="1",
        ),
    )
    assert response.status_code == 302
    bound = ReminderRule.objects.get(name="Repos: the HRBP")
    assert bound.template_id == template.pk and bound.item_key == "repositories"
    checklist = text(client.get(f"/handover/checklists/{template.pk}/"))
    assert f'hx-get="/settings/reminders/checklist/{template.pk}/"' in checklist
    section = text(client.get(f"/settings/reminders/checklist/{template.pk}/"))
    assert "Repos: the HRBP" in section and "repositories" in section
    assert "Owner, two days before" not in section
    assert f"/settings/reminders/new/?template={template.pk}" in section
    # Delete.
    before = AuditEntry.objects.count()
    response = client.post(f"/settings/reminders/{bound.pk}/delete/")
    assert response.status_code == 302
    assert not ReminderRule.objects.filter(pk=bound.pk).exists()
    assert AuditEntry.objects.count() == before + 1


def test_hrbp_manages_checklist_rules_but_not_the_defaults(
    client_as: Any, users: dict[str, User]
) -> None:
    actions.ensure_default_rules()
    packs.install(acting_user=users["admin"])
    default = ReminderRule.objects.filter(template=None).first()
    assert default is not None
    client = client_as("hrbp.cloud")
    page = text(client.get("/settings/reminders/"))
    assert "Only group administrators change the default rules." in page
    assert f"/settings/reminders/{default.pk}/delete/" not in page
    before = ReminderRule.objects.count()
    response = client.post("/settings/reminders/new/", rule_data())
    assert response.status_code == 403
    assert "Only group administrators change the default reminder rules." in text(response)
    response = client.post(f"/settings/reminders/{default.pk}/delete/")
    assert response.status_code == 403 and ReminderRule.objects.count() == before
    template = ChecklistTemplate.objects.get(position_family__code="engineering")
    response = client.post("/settings/reminders/new/", rule_data(template=template.pk))
    assert response.status_code == 302 and ReminderRule.objects.count() == before + 1
    # Without NOTIFY_MANAGE: no way in.
    assert client_as("head.rd").get("/settings/reminders/").status_code == 403
    assert client_as("auditor").post("/settings/reminders/new/", rule_data()).status_code == 403


def test_a_nameless_default_rule_can_be_edited(client_as: Any, users: dict[str, User]) -> None:
    actions.ensure_default_rules()
    rule = ReminderRule.objects.filter(template=None).order_by("sort").first()
    assert rule is not None
    response = client_as("admin").post(
        f"/settings/reminders/{rule.pk}/", rule_data(name="", offset="-4", channels=["inapp"])
    )
    assert response.status_code == 302, text(response)


# ---------------------------------------------------------------- the delivery log


def test_case_page_loads_reminders_sent_lazily_for_those_who_may_see_them(
    client_as: Any, users: dict[str, User], reminded: ExitCase
) -> None:
    url = f"/deliveries/case/{reminded.pk}/"
    case_page = text(client_as("auditor").get(f"/handover/cases/{reminded.pk}/"))
    assert f'hx-get="{url}" hx-trigger="load"' in case_page
    assert "Reminders sent" in case_page
    section = client_as("auditor").get(url)
    assert section.status_code == 200
    body = text(section)
    sent = Delivery.objects.filter(case=reminded)
    assert body.count('<tr id="delivery-') == sent.count()
    one = sent.select_related("recipient").first()
    assert one is not None and str(one.recipient) in body
    assert "Escalation" in body and "Sent" in body
    assert client_as("hrbp.cloud").get(url).status_code == 200
    assert client_as("admin").get(url).status_code == 200
    # The leaver sees the case but not what was sent about it (the section is not offered).
    leaver_page = text(client_as("employee").get(f"/handover/cases/{reminded.pk}/"))
    assert url not in leaver_page
    assert client_as("employee").get(url).status_code == 403
    # The approving department head sees the case, not its delivery log.
    assert client_as("head.rd").get(url).status_code == 403
    # HR of another business unit does not see the case at all.
    assert client_as("hrbp.devices").get(url).status_code == 404
    assert client_as("admin").get("/deliveries/case/999999/").status_code == 404


def test_delivery_log_filters_paginates_and_costs_constant_queries(
    client_as: Any, users: dict[str, User], reminded: ExitCase, django_assert_max_num_queries: Any
) -> None:
    client = client_as("auditor")
    page = text(client.get("/deliveries/"))
    total = Delivery.objects.count()
    assert f"{total} message" in page
    body = text(client.get("/deliveries/", {"kind": "escalation"}))
    assert body.count('<tr id="delivery-') == Delivery.objects.filter(kind="escalation").count()
    body = text(
        client.get(
            "/deliveries/",
            {"case": reminded.pk, "status": "sent", "family": "inapp"},
            headers={**HTMX, "HX-Target": "delivery-table"},
        )
    )
    assert "<html" not in body
    assert (
        body.count('<tr id="delivery-')
        == Delivery.objects.filter(case=reminded, status="sent", family="inapp").count()
    )
    # A failed message shows its error, truncated with the full text at hand.
    d = Delivery.objects.filter(case=reminded).first()
    assert d is not None
    long_error = "The provider said no. " * 10
    Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.FAILED, error=long_error)
    body = text(client.get("/deliveries/", {"status": "failed"}))
    assert f'title="{long_error}"' in body and "…</summary>" in body

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/deliveries/").status_code == 200
        return len(ctx)

    first = count()
    more = [
        Delivery(
            key=f"extra:{i}",
            kind=DeliveryKind.REMINDER,
            family="inapp",
            case=reminded,
            recipient=users["employee"],
            period="2027-01-08",
            not_before=d.not_before,
            idempotency_key=f"extra{i}",
            status=DeliveryStatus.SENT,
        )
        for i in range(60)
    ]
    Delivery.objects.bulk_create(more)
    assert count() == first
    with django_assert_max_num_queries(10):
        client.get(f"/deliveries/case/{reminded.pk}/")
    # Only those with the delivery log; HR of another unit sees none of this case's.
    assert client_as("head.rd").get("/deliveries/").status_code == 403
    other_hr = text(client_as("hrbp.devices").get("/deliveries/", {"case": reminded.pk}))
    assert '<tr id="delivery-' not in other_hr


def test_navigation_offers_notification_settings_to_those_who_manage_them(
    client_as: Any,
) -> None:
    admin = text(client_as("admin").get("/notifications/"))
    assert 'href="/settings/channels/">Notifications</a>' in admin
    auditor = text(client_as("auditor").get("/notifications/"))
    assert 'href="/settings/channels/"' not in auditor
    assert 'href="/deliveries/">Delivery log</a>' in auditor
    employee = text(client_as("employee").get("/notifications/"))
    assert "/settings/channels/" not in employee and 'href="/deliveries/"' not in employee
