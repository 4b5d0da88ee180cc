"""Notifications: where messages go (channels), when (reminder rules), what was sent (the
delivery log, which is also the claim that stops two workers sending the same reminder), and
the in-app notification centre.

Every write goes through `baton.notify.actions` or the delivery machinery in
`baton.notify.delivery`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Family(models.TextChoices):
    """What a rule asks for; the organisation's configured channel decides the provider."""

    INAPP = "inapp", _("In-app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    IM = "im", _("WeCom / DingTalk / Feishu")


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email (SMTP)")
    SMS_ALIYUN = "sms_aliyun", _("Alibaba Cloud SMS")
    SMS_TENCENT = "sms_tencent", _("Tencent Cloud SMS")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu / Lark group robot")


FAMILY_OF_KIND = {
    ChannelKind.EMAIL: Family.EMAIL,
    ChannelKind.SMS_ALIYUN: Family.SMS,
    ChannelKind.SMS_TENCENT: Family.SMS,
    ChannelKind.WECOM: Family.IM,
    ChannelKind.DINGTALK: Family.IM,
    ChannelKind.FEISHU: Family.IM,
}


class Channel(models.Model):
    """A configured provider for a family of messages, for the whole group or one business
    unit (the unit's own channel wins). Secrets are stored encrypted (AES-256-GCM)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("provider"), max_length=16, choices=ChannelKind.choices)
    family = models.CharField(max_length=8, choices=Family.choices, editable=False)
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("business unit"),
        help_text=_("Empty: the whole group."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    mandatory = models.BooleanField(
        _("mandatory"), default=False, help_text=_("Users cannot switch this channel off.")
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # Like a webhook subscription's: lets the channel reach loopback/private addresses (an
    # SMTP relay in the company network). Only group administrators set it (notify.actions).
    internal = models.BooleanField(
        _("internal addresses allowed"),
        default=False,
        help_text=_(
            "Allow a private or local address (e.g. the company's own SMTP relay). Only "
            "group administrators may set this."
        ),
    )
    secrets_blob = models.BinaryField(default=b"", editable=False)
    secrets_key_id = models.CharField(max_length=32, blank=True, editable=False)
    # SMS and robot messages are held back during quiet hours (recipient's local time).
    quiet_start = models.TimeField(_("quiet hours from"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours until"), default=dt.time(8, 30))
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification channel")
        ordering = ["family", "business_unit_id", "name"]
        constraints = [
            # One channel per family and unit (and one group-wide per family).
            models.UniqueConstraint(
                fields=["family", "business_unit"],
                name="channel_family_unit_unique",
                condition=Q(business_unit__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["family"],
                name="channel_family_group_unique",
                condition=Q(business_unit__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Audience(models.TextChoices):
    OWNER = "owner", _("The task owner (the approver once submitted)")
    MANAGER = "manager", _("The leaver's manager / department head")
    HRBP = "hrbp", _("The HRBP")
    RECEIVER = "receiver", _("The receiver")
    LEAVER = "leaver", _("The leaver")


class Repeat(models.TextChoices):
    ONCE = "once", _("Once")
    DAILY = "daily", _("Every working day")


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", _("A message per item")
    DIGEST = "digest", _("In the daily digest")


class ReminderRule(models.Model):
    """When to remind whom about a handover task. `offset` counts working days from the due
    date: -3 fires from three working days before it, 1 from the first working day overdue.
    Rules bound to a checklist item (template + item key) replace those of its template, which
    replace the group defaults (no template)."""

    template = models.ForeignKey(
        "handover.ChecklistTemplate",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminder_rules",
        verbose_name=_("checklist"),
    )
    item_key = models.SlugField(_("item key"), max_length=64, blank=True)
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("Empty: described from its fields.")
    )
    offset = models.SmallIntegerField(
        _("working days from the due date"),
        help_text=_("Negative: before the due date; 1 or more: overdue."),
    )
    repeat = models.CharField(_("repeat"), max_length=8, choices=Repeat.choices)
    audience = models.CharField(_("to"), max_length=12, choices=Audience.choices)
    channels = models.JSONField(_("channels"), default=list)
    mode = models.CharField(_("how"), max_length=12, choices=Mode.choices, default=Mode.IMMEDIATE)
    escalation = models.BooleanField(
        _("escalation"),
        default=False,
        help_text=_("Carries the case's unfinished-items report."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder rule")
        ordering = ["template_id", "item_key", "sort", "offset", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    ESCALATION = "escalation", _("Escalation")
    DIGEST = "digest", _("Daily digest")
    TEST = "test", _("Test message")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Will retry")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent (no longer due)")


OPEN_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRY)


class Delivery(models.Model):
    """One message to one recipient on one channel family — planned, claimed, sent.

    `key` is unique: (rule, task, recipient, period, family) for reminders, so however many
    sweeps and workers run, a reminder is planned once; a worker sends only what it claimed
    (pending/retry → sending under a row lock). A worker that dies mid-send leaves 'sending';
    after BATON_DELIVERY_SENDING_TIMEOUT it is retried with the same idempotency key."""

    key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=12, choices=DeliveryKind.choices)
    family = models.CharField(_("channel"), max_length=8, choices=Family.choices)
    # The log's references carry no database constraints or single-column indexes: a sweep
    # writes 10⁵ rows at once, and checking five deferred foreign keys per row at commit
    # doubled its time. Referenced rows are never deleted (tasks and cases are PROTECTed;
    # users are deactivated), and Django still cascades in Python.
    rule = models.ForeignKey(
        ReminderRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    case = models.ForeignKey(
        "handover.ExitCase",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (case, created_at) below
    )
    task = models.ForeignKey(
        "handover.HandoverTask",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (recipient, created_at) below
    )
    period = models.CharField(max_length=24)
    # The task's due date when planned: a moved due date makes this reminder stale.
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    not_before = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=32)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    address = models.CharField(_("address"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    response = models.TextField(_("provider response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(
                fields=["status", "not_before"],
                condition=Q(status__in=["pending", "sending", "retry"]),
                name="delivery_open",
            ),
            models.Index(fields=["case", "created_at"]),
            models.Index(fields=["recipient", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """An entry in a user's in-app notification centre."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=12, choices=DeliveryKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    delivery = models.OneToOneField(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="notification"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A user's choice of channels, within what the organisation allows (a mandatory channel
    cannot be switched off; in-app is always on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preference"
    )
    disabled = models.JSONField(_("switched off"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.disabled}"
