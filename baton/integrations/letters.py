"""The letter a customer gets when their contact leaves (客户交接通知函): who the new contact is
(name, email, phone), who the former one was, the company, and a one-time link to confirm it —
the link answers the customer's handover item.

Written in the customer's language (`contact_language`), else the employing legal entity's
default (mainland China: Simplified Chinese; elsewhere English); both come from the
translation catalogue. Sent through the business unit's email channel (else the group's) with
the notification app's SMTP adapter. Each customer gets one letter; again only on an explicit
resend (or when their new owner changes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from baton.handover.models import ExitCase
from baton.integrations.models import BusinessItem
from baton.notify.channels.base import Message, Recipient, SendResult
from baton.notify.delivery import send_via
from baton.notify.models import Channel, Family
from baton.notify.planner import Channels
from baton.org.models import Employee

CHINESE, ENGLISH = "zh-hans", "en"


@dataclass(frozen=True)
class Letter:
    language: str
    subject: str
    text: str
    html: str


def letter_language(item: BusinessItem, case: ExitCase) -> str:
    """The customer's language when known (zh*, en*), else the legal entity's default."""
    code = (item.contact_language or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return CHINESE
    if code.startswith("en"):
        return ENGLISH
    jurisdiction = (case.legal_entity.jurisdiction or "").upper().split("-")[0]
    return CHINESE if jurisdiction == "CN" else ENGLISH


def email_channel(case: ExitCase) -> Channel | None:
    """The enabled email channel of the case's business unit, else the group's (as reminders
    find theirs)."""
    return Channels().get(Family.EMAIL, case.business_unit_id)


def no_channel_message(case: ExitCase) -> str:
    return _(
        "No email channel is set up for %(unit)s or the whole group: set one up under "
        "Notifications before sending letters to customers."
    ) % {"unit": case.business_unit.name}


def render(
    *,
    item: BusinessItem,
    case: ExitCase,
    new_owner: Employee,
    link: str,
    language: str,
    expires_at: dt.datetime,
) -> Letter:
    """The letter in `language`: subject, plain text and HTML."""
    with translation.override(language):
        company = case.legal_entity.name
        ctx: dict[str, Any] = {
            "customer": item.name,
            "greeting_name": item.contact_name or item.name,
            "company": company,
            "former": case.employee.name,
            "new_name": new_owner.name,
            "new_email": new_owner.email,
            "new_phone": new_owner.phone,
            "link": link,
            "expires": timezone.localtime(expires_at).strftime("%Y-%m-%d"),
            "language": language,
        }
        subject = _("%(company)s: your new contact is %(name)s") % {
            "company": company,
            "name": new_owner.name,
        }
        text = render_to_string("integrations/customer_letter.txt", ctx)
        html = render_to_string("integrations/customer_letter.html", {**ctx, "subject": subject})
    return Letter(language=language, subject=subject, text=text, html=html)


def send(channel: Channel, item: BusinessItem, letter: Letter, *, key: str) -> SendResult:
    """Send one letter to the customer's contact through the channel's adapter."""
    recipient = Recipient(
        user_id=None,
        name=item.contact_name or item.name,
        email=item.contact_email,
        phone=item.contact_phone,
        language=letter.language,
    )
    message = Message(
        idempotency_key=key,
        subject=letter.subject,
        text=letter.text,
        html=letter.html,
        short=letter.subject,
    )
    result: SendResult = send_via(channel, recipient, message)
    return result
