"""Business data in: a leaver's customers, orders, projects, purchase orders, equipment, loans
and expense claims, pulled from connected systems (or pushed by them through the API), each
becoming a handover item on the case."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    ORDER = "order", _("Open order")
    PROJECT = "project", _("Project")
    PURCHASE_ORDER = "purchase_order", _("Purchase order")
    ASSET = "asset", _("Assigned equipment")
    LOAN = "loan", _("Loan")
    EXPENSE_CLAIM = "expense_claim", _("Unsettled expense claim")


class PullState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DataPull(models.Model):
    """One background pull of a leaver's business records from one system, with its progress
    (the case page shows it)."""

    case = models.ForeignKey("handover.ExitCase", on_delete=models.PROTECT, related_name="pulls")
    system = models.ForeignKey(
        "integrations.ConnectedSystem", on_delete=models.PROTECT, related_name="pulls"
    )
    state = models.CharField(
        _("state"), max_length=8, choices=PullState.choices, default=PullState.QUEUED
    )
    kinds = models.JSONField(default=list)  # which datasets; empty: all the manifest has
    fetched = models.PositiveIntegerField(_("records read"), default=0)
    created = models.PositiveIntegerField(_("items added"), default=0)
    updated = models.PositiveIntegerField(_("items updated"), default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("business data pull")
        ordering = ["-id"]
        indexes = [models.Index(fields=["case", "-id"])]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.system_id} {self.state}"


class WriteBackState(models.TextChoices):
    NONE = "", _("Not needed")
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Writing back")  # claimed by a worker (stale after a time-out)
    DONE = "done", _("Written back")
    FAILED = "failed", _("Failed")


class BusinessItem(models.Model):
    """A leaver's record in a business system: a CRM customer or open order, an ERP project,
    purchase order or assigned laptop, a finance loan or unsettled expense claim. It becomes a
    handover task on the case (客户 / 项目 / 财务交接清单); a customer is reassigned to a new
    owner, written back to the system and told by letter who the new contact is."""

    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="business_items"
    )
    system = models.ForeignKey(
        "integrations.ConnectedSystem", on_delete=models.PROTECT, related_name="items"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=BusinessKind.choices)
    external_id = models.CharField(_("id in the system"), max_length=128)
    name = models.CharField(_("name"), max_length=300)
    details = models.JSONField(default=dict, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_language = models.CharField(_("letter language"), max_length=8, blank=True)
    task = models.OneToOneField(
        "handover.HandoverTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="business_item",
    )
    pushed = models.BooleanField(_("pushed through the API"), default=False)
    new_owner = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new owner"),
    )
    reassigned_at = models.DateTimeField(null=True, blank=True)
    write_back = models.CharField(
        _("write-back"), max_length=8, choices=WriteBackState.choices, blank=True, default=""
    )
    write_back_error = models.TextField(blank=True)
    written_back_at = models.DateTimeField(null=True, blank=True)
    letter_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business record")
        ordering = ["case_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "system", "kind", "external_id"], name="business_item_once"
            ),
        ]
        indexes = [
            # "Current load": how many customers each person has been given.
            models.Index(fields=["new_owner", "kind"]),
        ]

    def __str__(self) -> str:
        return self.name
