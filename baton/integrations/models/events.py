"""Events out: the outbox rows, webhook subscriptions and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """An outbox row: a business event, written in the same transaction as the change that
    caused it (see `outbox.on_audit`). Published as a CloudEvent 1.0."""

    type = models.CharField(_("type"), max_length=64, db_index=True)
    subject = models.CharField(_("subject"), max_length=128)
    data = models.JSONField(default=dict)
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    # Some events are emitted by sweeps (task.overdue): the key makes them once-only.
    dedupe_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField()
    fanned_out = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("event")
        indexes = [
            models.Index(fields=["id"], condition=Q(fanned_out=False), name="event_pending"),
            models.Index(fields=["subject", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}"


class Subscription(models.Model):
    """A webhook endpoint that receives events of chosen types (and, optionally, of one
    business unit only), signed per Standard Webhooks with the subscription's secret — two
    during a rotation."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(
        _("event types"),
        default=list,
        help_text=_('Types or prefixes: "case.approved", "case.*", "*".'),
    )
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("business unit"),
        help_text=_("Empty: events of the whole group."),
    )
    internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allow private, loopback and link-local addresses (administrators only)."),
    )
    active = models.BooleanField(_("active"), default=True)
    max_attempts = models.PositiveSmallIntegerField(_("attempts before dead-letter"), default=12)
    secrets_blob = models.BinaryField(default=b"", editable=False)
    secrets_key_id = models.CharField(max_length=32, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    RETRY = "retry", _("Will retry")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead-lettered")


OPEN_WEBHOOK = ("pending", "sending", "retry")


class WebhookDelivery(models.Model):
    """One event to one subscription: its attempts and the receiver's last answer. Events of
    the same subject reach a subscription in order: one waits until the earlier ones are
    delivered (or dead-lettered)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    subject = models.CharField(max_length=128)
    status = models.CharField(
        _("status"), max_length=12, choices=WebhookStatus.choices, default=WebhookStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retry", "sending"]),
                name="webhook_ready",
            ),
            # "Is an earlier event of this subject still open for this subscription?"
            models.Index(
                fields=["subscription", "subject", "event"],
                condition=Q(status__in=["pending", "retry", "sending"]),
                name="webhook_order",
            ),
            models.Index(fields=["subscription", "-event"], name="webhook_log"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}:{self.event_id}"
