"""The event catalogue is part of the stored, hashed format: numbers never change and are never
reused, and every event reads well in both languages."""

from __future__ import annotations

import pytest
from django.utils import translation

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry

# Frozen when these numbers were in use. Add new events to events.py (and here when they ship);
# never edit or delete a line: entries already written carry these numbers inside their hashes.
FROZEN = {
    "GROUP_UPDATED": 101,
    "BUSINESS_UNIT_CREATED": 110,
    "BUSINESS_UNIT_UPDATED": 111,
    "LEGAL_ENTITY_CREATED": 120,
    "LEGAL_ENTITY_UPDATED": 121,
    "DEPARTMENT_CREATED": 130,
    "DEPARTMENT_UPDATED": 131,
    "DEPARTMENT_MOVED": 132,
    "CITY_CREATED": 140,
    "CITY_UPDATED": 141,
    "POSITION_FAMILY_CREATED": 150,
    "POSITION_FAMILY_UPDATED": 151,
    "POSITION_CREATED": 160,
    "POSITION_UPDATED": 161,
    "EMPLOYEE_CREATED": 170,
    "EMPLOYEE_UPDATED": 171,
    "CONTRACT_CREATED": 180,
    "CONTRACT_UPDATED": 181,
    "AGREEMENT_CREATED": 190,
    "AGREEMENT_UPDATED": 191,
    "AGREEMENT_DOCUMENT_VIEWED": 192,
    "LIFECYCLE_EVENT_RECORDED": 195,
    "LIFECYCLE_EVENT_UPDATED": 196,
    "ORG_BULK_LOADED": 199,
    "USER_CREATED": 201,
    "USER_UPDATED": 202,
    "USER_DEACTIVATED": 203,
    "PASSWORD_CHANGED": 204,
    "ROLE_GRANTED": 210,
    "ROLE_REVOKED": 211,
    "TOKEN_CREATED": 220,
    "TOKEN_REVOKED": 221,
    "LOGIN_SUCCEEDED": 230,
    "LOGIN_FAILED": 231,
    "LOGIN_THROTTLED": 232,
    "LOGGED_OUT": 233,
    "PREFERENCES_CHANGED": 240,
    "AUDIT_EXPORTED": 301,
    "AUDIT_SCRUBBED": 302,
    "TEMPLATE_CREATED": 401,
    "TEMPLATE_UPDATED": 402,
    "TEMPLATE_ITEM_SAVED": 403,
    "TEMPLATE_ITEM_DELETED": 404,
    "TEMPLATE_PUBLISHED": 405,
    "TEMPLATE_CHANGE_PROPOSED": 406,
    "TEMPLATE_CHANGE_DECIDED": 407,
    "CASE_OPENED": 420,
    "CASE_SUBMITTED": 421,
    "CASE_APPROVED": 422,
    "CASE_HANDOVER_STARTED": 423,
    "CASE_CLEARED": 424,
    "CASE_CLOSED": 425,
    "CASE_WITHDRAWN": 426,
    "CASE_CANCELLED": 427,
    "CASE_REOPENED": 428,
    "CASE_REVEALED": 429,
    "CASE_UPDATED": 430,
    "CASE_REPORT_EXPORTED": 431,
    "TASK_CREATED": 440,
    "TASK_STARTED": 441,
    "TASK_UPDATED": 442,
    "TASK_SUBMITTED": 443,
    "TASK_ACCEPTED": 444,
    "TASK_REJECTED": 445,
    "TASK_WAIVED": 446,
    "TASK_REASSIGNED": 447,
    "DOCUMENT_UPLOADED": 460,
    "DOCUMENT_VIEWED": 461,
    "DOCUMENTS_REENCRYPTED": 462,
    "CONFIRMATION_SENT": 470,
    "CONFIRMATION_ANSWERED": 471,
    "KNOWLEDGE_ADDED": 480,
    "HANDOVER_BULK_LOADED": 499,
    "CHANNEL_CREATED": 501,
    "CHANNEL_UPDATED": 502,
    "CHANNEL_TESTED": 503,
    "REMINDER_RULE_CREATED": 510,
    "REMINDER_RULE_UPDATED": 511,
    "REMINDER_RULE_DELETED": 512,
    "REMINDERS_PLANNED": 520,
    "CASE_ESCALATED": 521,
    "NOTIFY_PREFERENCES_CHANGED": 530,
    "SUBSCRIPTION_CREATED": 601,
    "SUBSCRIPTION_UPDATED": 602,
    "SUBSCRIPTION_SECRET_ROTATED": 603,
    "WEBHOOKS_REPLAYED": 604,
    "SYSTEM_CREATED": 610,
    "SYSTEM_UPDATED": 611,
    "SYSTEM_SECRETS_CHANGED": 612,
    "SYSTEM_TESTED": 613,
    "ACCOUNT_LINKED": 614,
    "REVOCATION_SCHEDULED": 620,
    "ACCESS_REVOKED": 621,
    "ACCESS_REVOCATION_FAILED": 622,
    "ACCESS_KEPT": 623,
    "ACCOUNT_DELETED": 624,
    "REVOCATION_CANCELLED": 625,
    "REVOCATION_RETRIED": 626,
    "ACCESS_REVOKED_MANUALLY": 627,
    "REVOCATION_RESCHEDULED": 628,
    "ACCOUNT_NOT_FOUND": 629,
    "DATA_PULL_REQUESTED": 630,
    "DATA_PULLED": 631,
    "DATA_PULL_FAILED": 632,
    "BUSINESS_DATA_PUSHED": 633,
    "CUSTOMERS_REASSIGNED": 640,
    "CUSTOMERS_WRITTEN_BACK": 641,
    "CUSTOMER_WRITE_BACK_FAILED": 642,
    "CUSTOMER_LETTERS_SENT": 643,
    "API_CALLED": 650,
    "RULE_PARAMETER_SAVED": 701,
    "TERMINATION_RECORDED": 710,
    "PROTECTION_FLAG_SET": 711,
    "EARLY_RELEASE_AGREED": 712,
    "UNION_NOTIFIED": 713,
    "SETTLEMENT_CALCULATED": 720,
    "SETTLEMENT_APPROVED": 721,
    "SETTLEMENT_EXPORTED": 722,
    "SEVERANCE_RELEASED": 723,
    "NON_COMPETE_DECIDED": 724,
    "NON_COMPETE_PAYMENT_RECORDED": 725,
    "CERTIFICATE_TEMPLATE_PUBLISHED": 730,
    "CERTIFICATE_ISSUED": 731,
    "CERTIFICATE_DOWNLOADED": 732,
    "CERTIFICATE_HOLD_REFUSED": 733,
    "CERTIFICATE_VERIFIED": 734,
    "CERTIFICATE_REVOKED": 735,
    "DEADLINES_PLANNED": 740,
    "DEADLINE_MET": 741,
    "INTERVIEW_BANK_PUBLISHED": 750,
    "INTERVIEW_STARTED": 751,
    "INTERVIEW_COMPLETED": 752,
    "INTERVIEW_LINK_SENT": 753,
    "IMPORT_UPLOADED": 800,
    "IMPORT_VALIDATED": 801,
    "IMPORT_COMMITTED": 802,
    "IMPORT_DISCARDED": 803,
    "IMPORT_FAILED": 804,
    "IMPORT_MAPPING_SAVED": 805,
    "DATA_EXPORTED": 810,
    "EMPLOYEES_MERGED": 820,
    "ID_NUMBER_RECORDED": 821,
}


def test_no_event_was_renumbered_or_removed() -> None:
    current = {e.name: e.value for e in AuditEvent}
    changed = {n: (v, current.get(n)) for n, v in FROZEN.items() if current.get(n) != v}
    assert not changed, f"renumbered or removed (was, now): {changed}"


def test_no_number_is_reused() -> None:
    # An enum silently turns a repeated value into an alias of the first name.
    aliases = [n for n, e in AuditEvent.__members__.items() if e.name != n]
    assert not aliases, f"these names reuse another event's number: {aliases}"
    retired = set(FROZEN.values())
    reused = [e.name for e in AuditEvent if e.name not in FROZEN and e.value in retired]
    assert not reused


def test_numbers_fit_the_stored_column_and_the_ranges() -> None:
    field = AuditEntry._meta.get_field("event_type")
    assert field.get_internal_type() == "PositiveSmallIntegerField"
    # 1xx … 8xx and up: three digits at least, and within a PostgreSQL smallint.
    assert all(100 <= e.value <= 32767 for e in AuditEvent)
    assert field.choices == AuditEvent.choices


@pytest.mark.parametrize("event", list(AuditEvent), ids=lambda e: e.name)
def test_every_event_has_a_chinese_label(event: AuditEvent) -> None:
    with translation.override("en"):
        english = str(event.label)
    with translation.override("zh-hans"):
        chinese = str(event.label)
    assert english.strip()
    assert chinese != english, f"{event.name} has no zh-Hans translation"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), chinese


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_labels_tell_events_apart(language: str) -> None:
    # The trail's event filter and the export show only the label.
    with translation.override(language):
        labels = [str(e.label) for e in AuditEvent]
    assert len(set(labels)) == len(labels)
