"""Handover: checklist templates (versioned, inherited), exit cases, their tasks, evidence,
the encrypted document library, external confirmations and the position knowledge map.

Every write goes through `baton.handover.actions`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExitType(models.TextChoices):
    RESIGNATION = "resignation", _("Resignation (employee notice)")
    EMPLOYEE_FOR_CAUSE = "employee_for_cause", _("Resignation for employer fault")
    MUTUAL = "mutual", _("Mutual agreement")
    EMPLOYER_NO_FAULT = "employer_no_fault", _("Employer termination (no fault)")
    EMPLOYER_FOR_CAUSE = "employer_for_cause", _("Dismissal for cause")
    LAYOFF = "layoff", _("Layoff")
    CONTRACT_EXPIRY = "contract_expiry", _("Contract expiry")
    RETIREMENT = "retirement", _("Retirement")
    TRANSFER = "transfer", _("Internal transfer")

    @classmethod
    def employer_initiated(cls) -> set[str]:
        return {cls.EMPLOYER_NO_FAULT, cls.EMPLOYER_FOR_CAUSE, cls.LAYOFF}


class OwnerRole(models.TextChoices):
    LEAVER = "leaver", _("Leaver")
    RECEIVER = "receiver", _("Receiver")
    MANAGER = "manager", _("Manager")
    HR = "hr", _("HR")
    IT = "it", _("IT")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administration")
    USER = "user", _("A named person")
    ASK = "ask", _("Ask at launch")


class ReceiverRule(models.TextChoices):
    MANAGER = "manager", _("The manager")
    SUCCESSOR = "successor", _("The named successor")
    ASK = "ask", _("Ask at launch")
    NONE = "none", _("No receiver")


class ApproverRole(models.TextChoices):
    MANAGER = "manager", _("Manager")
    RECEIVER = "receiver", _("Receiver")
    HR = "hr", _("HR")
    IT = "it", _("IT")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administration")
    USER = "user", _("A named person")


class EvidenceKind(models.TextChoices):
    FILE = "file", _("File upload")
    CHECKLIST = "checklist", _("Sub-item checklist")
    SIGNOFF = "signoff", _("Approver sign-off")
    EXTERNAL = "external", _("External confirmation")
    SYSTEM = "system", _("Connected system's call log")


class Category(models.TextChoices):
    BUSINESS = "business", _("Business")
    CUSTOMERS = "customers", _("Customers")
    KNOWLEDGE = "knowledge", _("Knowledge and documents")
    IT = "it", _("IT and access")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administration and assets")
    HR = "hr", _("HR")
    OVERSEAS = "overseas", _("Overseas")


class ChecklistTemplate(models.Model):
    """A handover checklist (交接清单模板) bound to where it applies. Templates inherit: a
    template's effective items are its parent's, with its own items added, replaced (same key)
    or removed. Cases use a published, frozen version."""

    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("inherits from"),
    )
    position = models.ForeignKey(
        "org.Position", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("position")
    )
    position_family = models.ForeignKey(
        "org.PositionFamily",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("position family"),
    )
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("department"),
    )
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("business unit"),
    )
    legal_entity = models.ForeignKey(
        "org.LegalEntity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("legal entity"),
    )
    exit_type = models.CharField(
        _("exit type"), max_length=24, choices=ExitType.choices, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("checklist template")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateItem(models.Model):
    """One line of a checklist template (the draft; publishing freezes it into a version)."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(
        _("key"),
        max_length=64,
        help_text=_(
            "Stable identifier; a child template's item with the same "
            "key replaces the inherited one."
        ),
    )
    removed = models.BooleanField(_("removes the inherited item"), default=False)
    title = models.CharField(_("title"), max_length=200, blank=True)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.BUSINESS
    )
    owner_role = models.CharField(
        _("owner"), max_length=16, choices=OwnerRole.choices, default=OwnerRole.LEAVER
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("named owner"),
    )
    receiver_rule = models.CharField(
        _("receiver"), max_length=16, choices=ReceiverRule.choices, default=ReceiverRule.SUCCESSOR
    )
    approver_role = models.CharField(
        _("approver"), max_length=16, choices=ApproverRole.choices, default=ApproverRole.MANAGER
    )
    approver_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("named approver"),
    )
    due_offset = models.SmallIntegerField(
        _("due (working days from the last working day)"),
        default=-3,
        help_text=_("Negative: before the last working day; positive: after it."),
    )
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    evidence_kind = models.CharField(
        _("evidence required"),
        max_length=16,
        choices=EvidenceKind.choices,
        default=EvidenceKind.FILE,
    )
    sub_items = models.JSONField(_("sub-items"), default=list, blank=True)
    blocks_clearance = models.BooleanField(_("blocks clearance"), default=True)
    reusable = models.BooleanField(_("feeds the position knowledge map"), default=False)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("template item")
        ordering = ["template_id", "sort", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="template_item_key_unique"),
        ]

    def __str__(self) -> str:
        return self.title or self.key


class TemplateVersion(models.Model):
    """A published, frozen checklist: the resolved items (inheritance applied) as data. A case
    keeps the version it started with, so editing a template never changes running cases."""

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    items = models.JSONField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("template version")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique"),
        ]
        ordering = ["template_id", "-number"]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class ChangeRequestState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class TemplateChangeRequest(models.Model):
    """A proposed change to a checklist by HR, the department head or the employee; applied
    only when HR approves it."""

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.CASCADE, related_name="change_requests"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    item = models.JSONField(_("proposed item"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    state = models.CharField(
        max_length=16, choices=ChangeRequestState.choices, default=ChangeRequestState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.template}: {self.item.get('title', '')}"


class CaseState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    HANDOVER = "handover", _("Handover in progress")
    CLEARED = "cleared", _("Cleared")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_CASE_STATES = (CaseState.DRAFT, CaseState.SUBMITTED, CaseState.APPROVED, CaseState.HANDOVER)


class ExitCase(models.Model):
    """An exit case (离职单): one person's departure and its handover."""

    employee = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        related_name="exit_cases",
        verbose_name=_("employee"),
    )
    # Where the case belongs, fixed when it opens (scopes and queues read these).
    business_unit = models.ForeignKey(
        "org.BusinessUnit", on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey("org.Department", on_delete=models.PROTECT, related_name="+")
    legal_entity = models.ForeignKey("org.LegalEntity", on_delete=models.PROTECT, related_name="+")
    exit_type = models.CharField(_("exit type"), max_length=24, choices=ExitType.choices)
    reason = models.TextField(_("reason"), blank=True)
    desired_last_day = models.DateField(_("desired last day"), null=True, blank=True)
    last_working_day = models.DateField(_("last working day"))
    state = models.CharField(
        _("state"), max_length=16, choices=CaseState.choices, default=CaseState.DRAFT
    )
    # Kept when withdrawn/cancelled so HR can undo it.
    state_before_stop = models.CharField(max_length=16, choices=CaseState.choices, blank=True)
    confidential = models.BooleanField(_("confidential pre-resignation handover"), default=False)
    revealed_at = models.DateTimeField(null=True, blank=True)
    successor = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="succeeding_cases",
        verbose_name=_("successor (default receiver)"),
    )
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exit case")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["state", "last_working_day"]),
            models.Index(fields=["business_unit", "state"]),
            models.Index(fields=["department", "state"]),
        ]
        constraints = [
            # One open case per person at a time.
            models.UniqueConstraint(
                fields=["employee"],
                name="one_open_case_per_employee",
                condition=Q(state__in=["draft", "submitted", "approved", "handover"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee.name} · {self.last_working_day}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CASE_STATES


class TaskState(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted for acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WAIVED = "waived", _("Waived")


DONE_TASK_STATES = (TaskState.ACCEPTED, TaskState.WAIVED)


class Queue(models.TextChoices):
    """Department queues: tasks owned by a function rather than a person."""

    HR = "hr", _("HR")
    IT = "it", _("IT")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administration")


class HandoverTask(models.Model):
    """One handover item of a case (交接任务): an owner does it, a receiver gets it, an
    approver accepts it against its criteria and evidence, by a date in working days."""

    case = models.ForeignKey(ExitCase, on_delete=models.PROTECT, related_name="tasks")
    key = models.SlugField(max_length=64)
    # The checklist the item came from (reminder rules can be bound to it and its items).
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    # The owner is a person, or a department queue (IT, finance, …) anyone in it may take.
    owner = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_handover_tasks",
        verbose_name=_("owner"),
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner_queue = models.CharField(max_length=16, choices=Queue.choices, blank=True)
    receiver = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="received_handover_tasks",
        verbose_name=_("receiver"),
    )
    approver = models.ForeignKey(
        "org.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_handover_tasks",
        verbose_name=_("approver"),
    )
    approver_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approver_queue = models.CharField(max_length=16, choices=Queue.choices, blank=True)
    due_date = models.DateField(_("due date"))
    # Working days from the last working day, kept so a moved last day moves the due date.
    due_offset = models.SmallIntegerField(null=True, blank=True)
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    evidence_kind = models.CharField(
        _("evidence required"), max_length=16, choices=EvidenceKind.choices
    )
    sub_items = models.JSONField(_("sub-items"), default=list, blank=True)
    blocks_clearance = models.BooleanField(_("blocks clearance"), default=True)
    reusable = models.BooleanField(default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=TaskState.choices, default=TaskState.TODO
    )
    note = models.TextField(_("handover note"), blank=True)
    last_comment = models.TextField(_("last comment"), blank=True)
    added_by_hr = models.BooleanField(default=False)
    sort = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("handover task")
        ordering = ["case_id", "sort", "id"]
        indexes = [
            models.Index(fields=["state", "due_date"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["owner_queue", "state"]),
            models.Index(fields=["receiver", "state"]),
            # The board's overdue filter and counts look only at open items.
            models.Index(
                fields=["case", "due_date"],
                condition=Q(state__in=["todo", "in_progress", "submitted", "rejected"]),
                name="task_open_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.state in DONE_TASK_STATES


def document_upload_path(instance: Document, filename: str) -> str:
    return f"handover/{instance.case_id}/{instance.sha256[:2]}/{instance.sha256}.{instance.version}"


class Document(models.Model):
    """A file in the handover document library (交接文档库): encrypted at rest with AES-256-GCM;
    the SHA-256 of the plaintext is kept as evidence. New uploads under the same name on the
    same task are new versions; nothing is overwritten."""

    case = models.ForeignKey(ExitCase, on_delete=models.PROTECT, related_name="documents")
    task = models.ForeignKey(
        HandoverTask, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    previous = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    blob = models.FileField(upload_to=document_upload_path, max_length=255)
    key_id = models.CharField(max_length=32)
    reusable = models.BooleanField(_("reusable by the next holder"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handover document")
        ordering = ["case_id", "name", "-version"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ExternalConfirmation(models.Model):
    """A one-time, expiring link sent to someone outside the company (e.g. a customer) to
    confirm a handover fact (the new contact person) without an account."""

    task = models.ForeignKey(HandoverTask, on_delete=models.PROTECT, related_name="confirmations")
    recipient_name = models.CharField(_("recipient"), max_length=200)
    recipient_email = models.EmailField(_("recipient email"), blank=True)
    statement = models.TextField(_("what they confirm"))
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    confirmed = models.BooleanField(null=True)
    response_note = models.TextField(blank=True)
    response_ip = models.CharField(max_length=45, blank=True)

    def __str__(self) -> str:
        return f"{self.recipient_name}: {self.statement[:40]}"


class KnowledgeItem(models.Model):
    """An entry in a position's knowledge map (岗位知识地图): accepted, reusable handover
    documents and notes, for the next holder and new hires of the position."""

    position = models.ForeignKey(
        "org.Position",
        on_delete=models.PROTECT,
        related_name="knowledge",
        verbose_name=_("position"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("notes"), blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_task = models.ForeignKey(
        HandoverTask, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contributed_by = models.ForeignKey(
        "org.Employee", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    views = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("knowledge item")
        ordering = ["position_id", "category", "title"]

    def __str__(self) -> str:
        return self.title
