"""Organisation master data: the group, its business units, legal entities, departments,
positions and the people employed in them, with their contracts, agreements and history.

Every write goes through `baton.org.actions`; nothing here saves itself.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Group(models.Model):
    """A company group (集团). One group per installation; codes are unique within it."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # Unified employee-number scheme (统一工号).
    # Placeholders: {group} {bu} {entity} {yyyy} {yy} {seq}.
    # {seq} may carry a width: {seq:05}. The sequence runs per (prefix) so numbers stay unique.
    employee_number_pattern = models.CharField(
        _("employee number pattern"), max_length=100, default="{group}{bu}{yy}{seq:05}"
    )

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("group")

    def __str__(self) -> str:
        return self.name


class City(models.Model):
    """A work city. Wage rules (minimum wage, average wage, final-pay days) are per city."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=100, blank=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=16, default="CN")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BusinessUnit(models.Model):
    """A business unit (事业部): the unit HR is organised by; HR of one BU never sees another's."""

    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="business_units", verbose_name=_("group")
    )
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=200)
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("head-office city")
    )
    is_active = models.BooleanField(_("active"), default=True)

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("business unit")
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="bu_code_unique")]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class LegalEntity(models.Model):
    """A legal entity (法人主体): the employer on contracts; its jurisdiction decides the law."""

    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="legal_entities", verbose_name=_("group")
    )
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_entities",
        verbose_name=_("business unit"),
    )
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=200)
    registration_number = models.CharField(
        _("unified social credit code"), max_length=32, blank=True
    )
    jurisdiction = models.CharField(_("jurisdiction"), max_length=16, default="CN")
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("registered city")
    )
    is_active = models.BooleanField(_("active"), default=True)

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="entity_code_unique")]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A department in a business unit's tree. `path` ("/1/4/9/") makes subtree queries a
    prefix match; it is maintained by the actions that create and move departments."""

    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="departments",
        verbose_name=_("business unit"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent department"),
    )
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    head = models.ForeignKey(
        "Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_departments",
        verbose_name=_("head"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("department")
        constraints = [
            models.UniqueConstraint(fields=["business_unit", "code"], name="dept_code_unique")
        ]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class PositionFamily(models.Model):
    """A family of positions (sales, engineering, admin, manufacturing…).

    Handover packs are bound to families."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("position family")
        verbose_name_plural = _("position families")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A position (岗位): what a person holds; handover checklists are bound to positions."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=200)
    family = models.ForeignKey(
        PositionFamily,
        on_delete=models.PROTECT,
        related_name="positions",
        verbose_name=_("position family"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
        verbose_name=_("department"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("position")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.title


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PROBATION = "probation", _("On probation")
    DEPARTING = "departing", _("Departing")
    DEPARTED = "departed", _("Departed")
    SUSPENDED = "suspended", _("Suspended")


class Employee(models.Model):
    """A person employed by an entity of the group. Hire date is 用工之日 (the day work began),
    which is what service-length and severance count from."""

    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="employees", verbose_name=_("group")
    )
    employee_number = models.CharField(_("employee number"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    business_unit = models.ForeignKey(
        BusinessUnit,
        on_delete=models.PROTECT,
        related_name="employees",
        verbose_name=_("business unit"),
    )
    legal_entity = models.ForeignKey(
        LegalEntity,
        on_delete=models.PROTECT,
        related_name="employees",
        verbose_name=_("legal entity"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="employees", verbose_name=_("department")
    )
    position = models.ForeignKey(
        Position, on_delete=models.PROTECT, related_name="employees", verbose_name=_("position")
    )
    manager = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("manager"),
    )
    work_city = models.ForeignKey(
        City, on_delete=models.PROTECT, related_name="employees", verbose_name=_("work city")
    )
    hire_date = models.DateField(_("hire date"))
    status = models.CharField(
        _("status"), max_length=16, choices=EmployeeStatus.choices, default=EmployeeStatus.ACTIVE
    )
    termination_date = models.DateField(_("termination date"), null=True, blank=True)
    # The person's number in the HR system the group migrated from (imports match on it when a
    # file carries no Baton employee number).
    # NULL (not "") when absent, so uniqueness needs no query for the many who have none.
    legacy_id = models.CharField(_("previous system ID"), max_length=64, null=True, blank=True)
    # Resident identity card number (居民身份证号): stored encrypted (AES-256-GCM, bound to
    # the row), looked up by a keyed hash (HMAC-SHA-256 under the lookup key), shown masked.
    id_number_blob = models.BinaryField(null=True, blank=True, editable=False)
    id_number_key_id = models.CharField(max_length=32, blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_hint = models.CharField(_("ID number (masked)"), max_length=32, blank=True)
    # Further attributes a migration brings (job level, overtime, satisfaction scores…), kept
    # for analytics. Protected attributes (gender, age, marital status…) are kept apart so no
    # model can take them as features by accident; they serve fairness reports only.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    protected_attributes = models.JSONField(_("protected attributes"), default=dict, blank=True)
    # When this record was found to be the same person as another and folded into it.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_records",
        verbose_name=_("merged into"),
    )
    # The import batch that last wrote this row (imports use it to spot a key repeated in a file).
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("employee")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "employee_number"], name="employee_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True)
                | Q(termination_date__gte=models.F("hire_date")),
                name="employee_termination_after_hire",
            ),
            models.UniqueConstraint(
                fields=["group", "legacy_id"], name="employee_legacy_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["business_unit", "employee_number"]),
            models.Index(fields=["department", "employee_number"]),
            models.Index(fields=["legal_entity", "employee_number"]),
            models.Index(fields=["status"]),
            # The people list is ordered by number: an index on it alone lets PostgreSQL read
            # the first page in order instead of sorting the whole table.
            models.Index(fields=["employee_number"], name="org_employee_number_idx"),
            models.Index(fields=["name"]),
        ]
        ordering = ["employee_number"]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_number})"


class EmployeeNumberSequence(models.Model):
    """The last sequence number handed out for one employee-number prefix."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    prefix = models.CharField(max_length=32)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "prefix"], name="empno_seq_unique")]


class ContractType(models.TextChoices):
    FIXED_TERM = "fixed_term", _("Fixed term")
    OPEN_ENDED = "open_ended", _("Open-ended")
    PROJECT = "project", _("Task-based (project)")
    PART_TIME = "part_time", _("Part-time")
    INTERNSHIP = "internship", _("Internship")
    DISPATCH = "dispatch", _("Labour dispatch")


class Contract(models.Model):
    """An employment contract with a legal entity."""

    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("employee")
    )
    legal_entity = models.ForeignKey(
        LegalEntity,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("legal entity"),
    )
    contract_type = models.CharField(
        _("contract type"), max_length=16, choices=ContractType.choices
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    probation_end_date = models.DateField(_("probation end date"), null=True, blank=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    sequence = models.PositiveSmallIntegerField(_("contract number (1st, 2nd…)"), default=1)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contract")
        ordering = ["employee_id", "start_date"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "sequence"], name="contract_number_unique"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="contract_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_contract_type_display()} {self.start_date}"


class AgreementType(models.TextChoices):
    NDA = "nda", _("Confidentiality (NDA)")
    NON_COMPETE = "non_compete", _("Non-compete")
    TRAINING_SERVICE = "training_service", _("Training service period")
    IP_ASSIGNMENT = "ip_assignment", _("IP assignment")
    OTHER = "other", _("Other")


class Agreement(models.Model):
    """A signed agreement (NDA, non-compete, training service period) and its document."""

    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("employee")
    )
    agreement_type = models.CharField(
        _("agreement type"), max_length=24, choices=AgreementType.choices
    )
    signed_on = models.DateField(_("signed on"))
    effective_until = models.DateField(_("effective until"), null=True, blank=True)
    # Terms that later rules read: non-compete months / monthly compensation, service-period
    # months / training cost. Free-form beyond that, shown as-is.
    terms = models.JSONField(_("terms"), default=dict, blank=True)
    document = models.FileField(_("document"), upload_to="agreements/%Y/", null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("agreement")
        ordering = ["employee_id", "signed_on"]

    def __str__(self) -> str:
        return f"{self.get_agreement_type_display()} {self.signed_on}"


class LifecycleEventType(models.TextChoices):
    HIRE = "hire", _("Hire")
    PROBATION_PASSED = "probation_passed", _("Probation passed")
    TRANSFER = "transfer", _("Transfer")
    PROMOTION = "promotion", _("Promotion")
    DEMOTION = "demotion", _("Demotion")
    PAY_CHANGE = "pay_change", _("Pay change")
    RETENTION_RAISE = "retention_raise", _("Retention raise")
    CONTRACT_RENEWAL = "contract_renewal", _("Contract renewal")
    LEAVE_OF_ABSENCE = "leave", _("Leave of absence")
    RESIGNATION = "resignation", _("Resignation")
    TERMINATION = "termination", _("Termination")
    REHIRE = "rehire", _("Rehire")


class LifecycleEvent(models.Model):
    """Something that happened in an employment: the history attrition analytics learns from."""

    employee = models.ForeignKey(
        Employee,
        on_delete=models.PROTECT,
        related_name="lifecycle_events",
        verbose_name=_("employee"),
    )
    event_type = models.CharField(
        _("event type"), max_length=24, choices=LifecycleEventType.choices
    )
    effective_date = models.DateField(_("effective date"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("lifecycle event")
        ordering = ["employee_id", "effective_date", "id"]
        indexes = [models.Index(fields=["employee", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.effective_date}"


# ---------------------------------------------------------------- lifecycle data (imported)


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    LATE = "late", _("Late")
    LEAVE = "leave", _("On leave")
    BUSINESS_TRIP = "trip", _("Business trip")
    REMOTE = "remote", _("Remote")
    REST = "rest", _("Rest day")
    HOLIDAY = "holiday", _("Holiday")


class AttendanceDay(models.Model):
    """One employee's attendance on one day (考勤): clock-in/out times or a status. The largest
    table Baton keeps (a year of a 100,000-person group is ~25 million rows): narrow on purpose."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="+", verbose_name=_("employee")
    )
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=AttendanceStatus.choices,
        default=AttendanceStatus.PRESENT,
    )
    clock_in = models.TimeField(_("clock-in"), null=True, blank=True)
    clock_out = models.TimeField(_("clock-out"), null=True, blank=True)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("attendance day")
        constraints = [
            models.UniqueConstraint(fields=["employee", "date"], name="attendance_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_status_display()}"


class LeaveType(models.TextChoices):
    ANNUAL = "annual", _("Annual leave")
    SICK = "sick", _("Sick leave")
    PERSONAL = "personal", _("Personal leave")
    MARRIAGE = "marriage", _("Marriage leave")
    MATERNITY = "maternity", _("Maternity leave")
    PATERNITY = "paternity", _("Paternity leave")
    NURSING = "nursing", _("Nursing leave")
    BEREAVEMENT = "bereavement", _("Bereavement leave")
    COMPENSATORY = "compensatory", _("Compensatory leave (调休)")
    OTHER = "other", _("Other leave")


class LeaveRecord(models.Model):
    """Leave taken (or approved) by an employee."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="leave_records", verbose_name=_("employee")
    )
    leave_type = models.CharField(_("leave type"), max_length=16, choices=LeaveType.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    days = models.DecimalField(_("days"), max_digits=6, decimal_places=2)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("leave record")
        ordering = ["employee_id", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "leave_type", "start_date"], name="leave_record_unique"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="leave_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_leave_type_display()} {self.start_date}–{self.end_date}"


class PerformanceRating(models.Model):
    """A performance rating for one review period ("2025", "2025H1", "2025Q3")."""

    employee = models.ForeignKey(
        Employee,
        on_delete=models.CASCADE,
        related_name="performance_ratings",
        verbose_name=_("employee"),
    )
    period = models.CharField(_("period"), max_length=16)
    rating = models.CharField(_("rating"), max_length=16)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("performance rating")
        ordering = ["employee_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "period"], name="performance_rating_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.rating}"


class CompensationChangeType(models.TextChoices):
    HIRE = "hire", _("Starting pay")
    ANNUAL = "annual", _("Annual review")
    PROMOTION = "promotion", _("Promotion")
    RETENTION = "retention", _("Retention raise")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REDUCTION = "reduction", _("Reduction")


class CompensationChange(models.Model):
    """A change of an employee's monthly base pay (retention raises included: the attrition
    model reads them)."""

    employee = models.ForeignKey(
        Employee,
        on_delete=models.CASCADE,
        related_name="compensation_changes",
        verbose_name=_("employee"),
    )
    effective_date = models.DateField(_("effective date"))
    change_type = models.CharField(
        _("change type"), max_length=16, choices=CompensationChangeType.choices
    )
    monthly_base = models.DecimalField(_("monthly base pay"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    import_batch_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("compensation change")
        ordering = ["employee_id", "effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "effective_date", "change_type"],
                name="compensation_change_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.effective_date} {self.monthly_base} {self.currency}"
