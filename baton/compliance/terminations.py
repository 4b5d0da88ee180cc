"""How an employment ends in law: the termination taxonomy (labor-rules.md §1.1), the earliest
lawful last day per jurisdiction (§0, §6), and the guards on a chosen last day.

Stable API for the other compliance parts:

    from baton.compliance import terminations as T

    T.TYPES["ER_NO_FAULT"].severance_owed      # True (LCL 46(3))
    T.TYPES[code].union_notice_required        # employer unilateral terminations (LCL 43)
    T.TYPES[code].steps                        # procedure steps (Step: code, label, basis)
    T.TYPES[code].initiator                    # "employee" | "employer" | "mutual" | "law"
    T.for_case(case)                           # the case's type code: its recorded terms, else
                                               # derived from ExitType (mutual → employer-proposed)
    T.earliest_last_day(code, notice_date, jurisdiction="CN", probation_end=..., ...)  # date
    T.notice_for(code, notice_date, jurisdiction=..., ...)    # Notice with basis and wording
    T.assess(code, notice_date, last_day, jurisdiction=..., protection=..., ...)  # Assessment
    T.required_steps(code, jurisdiction)       # steps the deadlines part turns into tasks
    T.final_pay_due(code, jurisdiction=..., last_day=..., ...)  # FinalPayDue (CN city, CA, JP)
    T.jp_pay_in_lieu_days(notice_date, last_day)              # LSA 20: 30 − days of notice
    T.ca_waiting_time_penalty(daily_wage, days_late)          # Lab. Code 203, max 30 days

Date conventions: notice periods run from the day after notice is given (Civil Code art. 201;
BGB §187(1)); the last day is the last day of employment, inclusive. So 30 days' notice given
on 1 March allows 31 March as the last day. Service is counted in completed calendar months
from the hire date to the notice date.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baton.compliance import rules
from baton.core.workdays import add_working_days

# ---------------------------------------------------------------- taxonomy


@dataclass(frozen=True)
class Step:
    """A procedure step the law requires around a termination (a task for the deadlines part)."""

    code: str
    label: str | Promise
    legal_basis: tuple[str, ...]
    before_last_day: bool = True


UNION_NOTICE = Step(
    "union_notice",
    gettext_lazy("Notify the labour union in advance and keep its response"),
    ("劳动合同法 43", "最高法劳动争议解释(一) 47"),
)
WRITTEN_NOTICE = Step(
    "written_notice",
    gettext_lazy("Give written notice of termination and keep proof of delivery"),
    ("劳动合同法 40", "实施条例 20"),
)
LAYOFF_EXPLAIN = Step(
    "layoff_explain",
    gettext_lazy(
        "Explain the situation to the union or all staff 30 days ahead and hear their views"
    ),
    ("劳动合同法 41",),
)
LAYOFF_REPORT = Step(
    "layoff_report",
    gettext_lazy("Report the reduction plan to the labour administration"),
    ("劳动合同法 41",),
)
LAYOFF_RETENTION = Step(
    "layoff_retention",
    gettext_lazy(
        "Check priority retention (long fixed-term, open-ended, sole earners with dependants)"
    ),
    ("劳动合同法 41",),
)
MUTUAL_AGREEMENT = Step(
    "mutual_agreement",
    gettext_lazy("Sign the termination agreement, recording who proposed it"),
    ("劳动合同法 36", "劳动合同法 46(2)"),
)
EVIDENCE_PACK = Step(
    "evidence_pack",
    gettext_lazy("Keep the evidence of the ground (rules acknowledged, warnings, records)"),
    ("劳动合同法 39", "最高法劳动争议解释(一) 44"),
)
RESIGNATION_LETTER = Step(
    "resignation_letter",
    gettext_lazy("Keep the employee's notice of resignation (written outside probation)"),
    ("劳动合同法 37",),
)
RENEWAL_OFFER = Step(
    "renewal_offer",
    gettext_lazy("Record whether renewal on the same or better terms was offered and refused"),
    ("劳动合同法 44(1)", "劳动合同法 46(5)", "劳动合同法 45"),
)
DE_WRITTEN_FORM = Step(
    "written_form_wet_signature",
    gettext_lazy("Termination in written form with a handwritten signature (no electronic form)"),
    ("BGB §623",),
)
DE_WORKS_COUNCIL = Step(
    "works_council_hearing",
    gettext_lazy("Hear the works council before the dismissal (to be confirmed)"),
    ("BetrVG §102",),
)


@dataclass(frozen=True)
class TerminationType:
    """One legal way an employment ends (labor-rules.md §1.1)."""

    code: str
    label: str | Promise
    initiator: str  # employee | employer | mutual | law
    severance_owed: bool
    legal_basis: tuple[str, ...]
    exit_types: tuple[str, ...]  # the case ExitTypes it may record (empty: any)
    steps: tuple[Step, ...] = ()
    union_notice_required: bool = False  # LCL 43: employer unilateral terminations
    blocked_by_protection: bool = False  # LCL 42: no-fault and layoff
    notice_note: str | Promise = ""

    @property
    def employer_unilateral(self) -> bool:
        return self.union_notice_required


def _t(*args: Any, **kwargs: Any) -> TerminationType:
    return TerminationType(*args, **kwargs)


_TYPES: list[TerminationType] = [
    _t("EE_NOTICE", gettext_lazy("Employee resigns with notice"), "employee", False,
       ("劳动合同法 37", "实施条例 18"), ("resignation",), (RESIGNATION_LETTER,),
       notice_note=gettext_lazy("30 days' written notice; 3 days in probation")),
    _t("EE_FOR_CAUSE", gettext_lazy("Employee resigns for the employer's fault"), "employee", True,
       ("劳动合同法 38", "劳动合同法 46(1)"), ("employee_for_cause",),
       notice_note=gettext_lazy("No notice required")),
    _t("EE_IMMEDIATE", gettext_lazy("Employee leaves immediately (force, danger)"), "employee", True,
       ("劳动合同法 38 §2", "劳动合同法 46(1)"), ("employee_for_cause",),
       notice_note=gettext_lazy("Immediately, without notice")),
    _t("MUTUAL_ER_PROPOSED", gettext_lazy("Mutual agreement proposed by the employer"), "mutual", True,
       ("劳动合同法 36", "劳动合同法 46(2)"), ("mutual",), (MUTUAL_AGREEMENT,),
       notice_note=gettext_lazy("As agreed")),
    _t("MUTUAL_EE_PROPOSED", gettext_lazy("Mutual agreement proposed by the employee"), "mutual", False,
       ("劳动合同法 36",), ("mutual",), (MUTUAL_AGREEMENT,), notice_note=gettext_lazy("As agreed")),
    _t("ER_CAUSE", gettext_lazy("Dismissal for cause"), "employer", False,
       ("劳动合同法 39", "劳动合同法 43"), ("employer_for_cause",),
       (UNION_NOTICE, EVIDENCE_PACK), union_notice_required=True,
       notice_note=gettext_lazy("No notice")),
    _t("ER_NO_FAULT", gettext_lazy("No-fault dismissal"), "employer", True,
       ("劳动合同法 40", "劳动合同法 46(3)", "实施条例 20"), ("employer_no_fault",),
       (UNION_NOTICE, WRITTEN_NOTICE), union_notice_required=True, blocked_by_protection=True,
       notice_note=gettext_lazy("30 days' written notice or one month's wage in lieu")),
    _t("ER_LAYOFF", gettext_lazy("Economic layoff"), "employer", True,
       ("劳动合同法 41", "劳动合同法 46(4)"), ("layoff",),
       (UNION_NOTICE, LAYOFF_EXPLAIN, LAYOFF_REPORT, LAYOFF_RETENTION),
       union_notice_required=True, blocked_by_protection=True,
       notice_note=gettext_lazy("30 days' explanation to the union or all staff")),
    _t("EXPIRY", gettext_lazy("Fixed-term contract expires"), "law", True,
       ("劳动合同法 44(1)", "劳动合同法 46(5)"), ("contract_expiry",), (RENEWAL_OFFER,),
       notice_note=gettext_lazy("Ends on the contract's end date")),
    _t("EXPIRY_RENEWAL_REFUSED", gettext_lazy("Contract expires; employee refused equal renewal"), "law",
       False, ("劳动合同法 44(1)", "劳动合同法 46(5)"), ("contract_expiry",), (RENEWAL_OFFER,),
       notice_note=gettext_lazy("Ends on the contract's end date")),
    _t("TASK_COMPLETED", gettext_lazy("Task-based contract completed"), "law", True,
       ("实施条例 22",), ("contract_expiry",), notice_note=gettext_lazy("Ends when the task is done")),
    _t("RETIREMENT", gettext_lazy("Retirement"), "law", False, ("劳动合同法 44(2)", "实施条例 21"),
       ("retirement",)),
    _t("DEATH", gettext_lazy("Death of the employee"), "law", False, ("劳动合同法 44(3)",), ()),
    _t("EMPLOYER_BANKRUPT", gettext_lazy("Employer declared bankrupt"), "law", True,
       ("劳动合同法 44(4)", "劳动合同法 46(6)"), ()),
    _t("EMPLOYER_DISSOLVED", gettext_lazy("Employer closed or dissolved"), "law", True,
       ("劳动合同法 44(5)", "劳动合同法 46(6)"), ()),
    _t("NO_CONTRACT_FIRST_MONTH", gettext_lazy("Refused to sign a contract in the first month"),
       "employer", False, ("实施条例 5",), ("employer_no_fault", "employer_for_cause"),
       notice_note=gettext_lazy("Written notice")),
    _t("NO_CONTRACT_AFTER_MONTH", gettext_lazy("Refused to sign a contract after the first month"),
       "employer", True, ("实施条例 6",), ("employer_no_fault", "employer_for_cause"),
       notice_note=gettext_lazy("Written notice")),
    _t("TRANSFER", gettext_lazy("Transfer within the group"), "mutual", False, ("实施条例 10",),
       ("transfer",), notice_note=gettext_lazy("Service carries over to the new employer")),
]  # fmt: skip
TYPES: dict[str, TerminationType] = {t.code: t for t in _TYPES}

# ExitType (the case's coarse kind) → the default termination type.
FROM_EXIT_TYPE: dict[str, str] = {
    "resignation": "EE_NOTICE",
    "employee_for_cause": "EE_FOR_CAUSE",
    "mutual": "MUTUAL_ER_PROPOSED",  # the conservative default: N is owed until HR records
    "employer_no_fault": "ER_NO_FAULT",  # that the employee proposed it
    "employer_for_cause": "ER_CAUSE",
    "layoff": "ER_LAYOFF",
    "contract_expiry": "EXPIRY",
    "retirement": "RETIREMENT",
    "transfer": "TRANSFER",
}


def type_choices() -> list[tuple[str, str]]:
    return [(t.code, str(t.label)) for t in _TYPES]


def compatible(code: str, exit_type: str) -> bool:
    t = TYPES[code]
    return not t.exit_types or exit_type in t.exit_types


def for_case(case: Any) -> str:
    """The termination type of a case: the recorded terms', else derived from its ExitType."""
    terms = getattr(case, "termination_terms", None) if case.pk else None
    if terms is not None:
        return str(terms.termination_type)
    return FROM_EXIT_TYPE.get(case.exit_type, "EE_NOTICE")


def to_exit_type(code: str) -> str | None:
    """The ExitType a termination type belongs to (None when any fits)."""
    t = TYPES[code]
    return t.exit_types[0] if t.exit_types else None


def required_steps(code: str, jurisdiction: str = "CN") -> list[Step]:
    """The procedure steps for a type in a jurisdiction (CN steps are LCL; DE adds §623)."""
    t = TYPES[code]
    top = rules.country(jurisdiction)
    if top == "CN":
        return list(t.steps)
    steps: list[Step] = []
    if top == "DE" and t.initiator in ("employee", "employer"):
        steps.append(DE_WRITTEN_FORM)
        if t.initiator == "employer":
            steps.append(DE_WORKS_COUNCIL)
    if t.code == "MUTUAL_ER_PROPOSED" or t.code == "MUTUAL_EE_PROPOSED":
        steps.append(MUTUAL_AGREEMENT)
    return steps


# LCL 42 protected statuses: any of them blocks ER_NO_FAULT and ER_LAYOFF.
PROTECTION_FLAGS: dict[str, Promise] = {
    "occupational_exposure": gettext_lazy(
        "Occupational-hazard work without an exit health check, or under observation"
    ),
    "work_injury": gettext_lazy(
        "Occupational disease or work injury with loss of working capacity"
    ),
    "medical_period": gettext_lazy("Within the medical treatment period for illness or injury"),
    "pregnancy": gettext_lazy("Pregnancy, maternity or nursing period"),
    "long_service": gettext_lazy(
        "15 years' continuous service and less than 5 years to retirement"
    ),
    "other_statutory": gettext_lazy("Another status protected by law or regulation"),
}


# ---------------------------------------------------------------- dates


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day number `months` later, or that month's last day if it has none."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def completed_months(start: dt.date, end: dt.date) -> int:
    """Whole calendar months of service from `start` up to `end` (a month ending on a month's
    last day counts as complete)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day and end != _month_end(end):
        months -= 1
    return max(months, 0)


@dataclass(frozen=True)
class Notice:
    """The lawful notice for one termination: the earliest last day and why."""

    earliest: dt.date  # with pay in lieu applied, if chosen and allowed
    earliest_with_full_notice: dt.date
    description: str
    legal_basis: tuple[str, ...]
    confidence: str
    pay_in_lieu_allowed: bool
    pay_in_lieu_applied: bool
    in_probation: bool = False
    rule_id: str = ""


def _notice_rule_name(code: str, top: str) -> str | None:
    t = TYPES[code]
    if top == "CN":
        return f"NOTICE.{code}"
    if code == "EE_NOTICE":
        return "NOTICE.EMPLOYEE"
    if code == "ER_CAUSE":
        return "NOTICE.FOR_CAUSE"
    if t.initiator == "employer":
        return "NOTICE.EMPLOYER"
    return None


def notice_for(
    code: str,
    notice_date: dt.date,
    *,
    jurisdiction: str = "CN",
    hire_date: dt.date | None = None,
    probation_end: dt.date | None = None,
    service_months: int | None = None,
    contract_end: dt.date | None = None,
    pay_in_lieu: bool = False,
) -> Notice:
    """The notice a termination needs and its earliest lawful last day."""
    if code not in TYPES:
        raise KeyError(code)
    t = TYPES[code]
    top = rules.country(jurisdiction)
    in_probation = probation_end is not None and notice_date <= probation_end
    if service_months is None:
        service_months = completed_months(hire_date, notice_date) if hire_date else 0

    name = _notice_rule_name(code, top)
    found = rules.find(name, jurisdiction=jurisdiction, on=notice_date) if name else None
    if found is None and code == "ER_CAUSE" and top != "CN":
        found = rules.find("NOTICE.EMPLOYER", jurisdiction=jurisdiction, on=notice_date)
    if found is None:
        end = notice_date
        if code in ("EXPIRY", "EXPIRY_RENEWAL_REFUSED") and contract_end:
            end = max(contract_end, notice_date)
        return Notice(end, end, str(t.notice_note or _("No statutory notice")), t.legal_basis,
                      "P" if top == "CN" else "R", False, False, in_probation)  # fmt: skip

    p = found.params
    method = p.get("method", "days")
    allowed = bool(p.get("pay_in_lieu_allowed", False))
    if method == "days":
        days = int(p["probation_days"] if in_probation and "probation_days" in p else p["days"])
        full = notice_date + dt.timedelta(days=days)
        desc = _("%(days)s days' notice") % {"days": days}
        if in_probation and "probation_days" in p:
            desc += " " + _("(in probation)")
        if in_probation and "probation_days" in p and p.get("probation_pay_in_lieu") is False:
            allowed = False
    elif method == "weeks_by_service":
        weeks = _uk_weeks(p, service_months)
        full = notice_date + dt.timedelta(weeks=weeks)
        desc = _("%(weeks)s weeks' notice (%(years)s complete years of service)") % {
            "weeks": weeks,
            "years": service_months // 12,
        }
    elif method == "fixed_end_dates":
        full, desc = _de_622(p, notice_date, service_months, in_probation)
    else:
        raise ValueError(f"unknown notice method {method!r} in {found.rule.rule_id}")
    earliest = notice_date if (pay_in_lieu and allowed) else full
    return Notice(
        earliest=earliest,
        earliest_with_full_notice=full,
        description=desc,
        legal_basis=tuple(found.legal_basis),
        confidence=found.confidence,
        pay_in_lieu_allowed=allowed,
        pay_in_lieu_applied=bool(pay_in_lieu and allowed),
        in_probation=in_probation,
        rule_id=found.rule.rule_id,
    )


def _uk_weeks(p: dict[str, Any], service_months: int) -> int:
    if service_months < int(p.get("min_service_months", 1)):
        return 0
    years = service_months // 12
    if "per_complete_year_from" in p and years >= int(p["per_complete_year_from"]):
        return min(years, int(p["max_weeks"]))
    return int(p["weeks"])


def _de_622(
    p: dict[str, Any], notice: dt.date, service_months: int, in_probation: bool
) -> tuple[dt.date, str]:
    if in_probation and "probation_weeks" in p:
        weeks = int(p["probation_weeks"])
        return notice + dt.timedelta(weeks=weeks), _("%(weeks)s weeks (probation)") % {
            "weeks": weeks
        }
    months = 0
    for years, m in p.get("extended_months_by_years", []):
        if service_months >= int(years) * 12:
            months = int(m)
    if months:
        end = _month_end(add_months(notice, months))
        return end, _("%(months)s months to the end of a month") % {"months": months}
    weeks = int(p["weeks"])
    target = notice + dt.timedelta(weeks=weeks)
    day = target
    ends = p.get("end_on", [15, "month_end"])
    while not ((day.day in ends) or ("month_end" in ends and day == _month_end(day))):
        day += dt.timedelta(days=1)
    return day, _("%(weeks)s weeks to the 15th or the end of a month") % {"weeks": weeks}


def earliest_last_day(
    termination_type: str,
    notice_date: dt.date,
    *,
    jurisdiction: str = "CN",
    hire_date: dt.date | None = None,
    probation_end: dt.date | None = None,
    service_years: int | None = None,
    service_months: int | None = None,
    contract_end: dt.date | None = None,
    pay_in_lieu: bool = False,
) -> dt.date:
    """The earliest lawful last day of employment for notice given on `notice_date`."""
    if service_months is None and service_years is not None:
        service_months = service_years * 12
    return notice_for(
        termination_type,
        notice_date,
        jurisdiction=jurisdiction,
        hire_date=hire_date,
        probation_end=probation_end,
        service_months=service_months,
        contract_end=contract_end,
        pay_in_lieu=pay_in_lieu,
    ).earliest


def jp_pay_in_lieu_days(notice_date: dt.date, last_day: dt.date, days: int = 30) -> int:
    """LSA §20: each day of average wage paid shortens the 30 days' notice by one day."""
    return max(0, days - max(0, (last_day - notice_date).days))


# ---------------------------------------------------------------- guards


@dataclass
class Assessment:
    """What the law says about a proposed termination: the notice, what blocks it, which
    steps are required, and whether the chosen last day is lawful."""

    notice: Notice
    blocked: list[str] = field(default_factory=list)  # refusals (LCL 42, probation)
    last_day_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    pay_in_lieu_days: int = 0  # JP: days of average wage owed instead of notice

    @property
    def ok(self) -> bool:
        return not self.blocked and not self.last_day_errors


def assess(
    code: str,
    notice_date: dt.date,
    last_day: dt.date,
    *,
    jurisdiction: str = "CN",
    hire_date: dt.date | None = None,
    probation_end: dt.date | None = None,
    service_months: int | None = None,
    contract_end: dt.date | None = None,
    pay_in_lieu: bool = False,
    protection: dict[str, bool] | None = None,
    early_release_agreed: bool = False,
) -> Assessment:
    """Check a proposed termination: LCL 42 blocks, probation limits, and the last day
    against the lawful earliest (an earlier day needs an agreement or pay in lieu)."""
    t = TYPES[code]
    top = rules.country(jurisdiction)
    notice = notice_for(
        code, notice_date, jurisdiction=jurisdiction, hire_date=hire_date,
        probation_end=probation_end, service_months=service_months,
        contract_end=contract_end, pay_in_lieu=pay_in_lieu,
    )  # fmt: skip
    a = Assessment(notice=notice, steps=required_steps(code, jurisdiction))
    active = sorted(k for k, v in (protection or {}).items() if v and k in PROTECTION_FLAGS)
    if top == "CN" and t.blocked_by_protection and active:
        for flag in active:
            a.blocked.append(
                _(
                    "%(type)s is not allowed: the employee is protected (%(flag)s). "
                    "LCL 42 forbids dismissal under LCL 40 and 41 while this lasts; "
                    "a dismissal now would be unlawful (2N, LCL 87)."
                )
                % {"type": t.label, "flag": PROTECTION_FLAGS[flag]}
            )
    if top == "CN" and notice.in_probation and code == "ER_LAYOFF":
        a.blocked.append(
            _("A layoff is not allowed in probation: only LCL 39 and 40(1)(2) grounds (LCL 21).")
        )
    if top == "CN" and notice.in_probation and code == "ER_NO_FAULT":
        a.warnings.append(_("In probation, only LCL 40(1) and 40(2) grounds are allowed (LCL 21)."))
    if top == "CN" and active and code in ("EXPIRY", "EXPIRY_RENEWAL_REFUSED"):
        # LCL 45: the contract is extended while the status lasts; ending it now is unlawful.
        a.blocked.append(
            _(
                "The contract cannot end on expiry now: it extends until the protected status "
                "ends (LCL 45); ending it earlier would be unlawful (2N, LCL 87)."
            )
        )
    if notice.confidence == "R":
        a.warnings.append(_("The notice rule is to be confirmed."))
    if last_day < notice_date:
        a.last_day_errors.append(_("The last day is before the notice date."))
    elif last_day < notice.earliest:
        a.last_day_errors.extend(_early_refusal(t, notice, last_day, early_release_agreed, top))
    if top == "JP" and t.initiator == "employer" and pay_in_lieu:
        a.pay_in_lieu_days = jp_pay_in_lieu_days(notice_date, last_day)
    return a


def _early_refusal(
    t: TerminationType, notice: Notice, last_day: dt.date, agreed: bool, top: str
) -> list[str]:
    values = {
        "day": last_day.isoformat(),
        "earliest": notice.earliest.isoformat(),
        "notice": notice.description,
        "basis": ", ".join(notice.legal_basis),
    }
    if t.initiator == "employee":
        if agreed:
            return []
        return [
            _(
                "The last day %(day)s is before the lawful earliest %(earliest)s "
                "(%(notice)s, %(basis)s). Releasing the employee earlier needs a recorded "
                "agreement with them."
            )
            % values
        ]
    if t.initiator == "employer":
        if notice.pay_in_lieu_allowed:
            return [
                _(
                    "The last day %(day)s is before the lawful earliest %(earliest)s "
                    "(%(notice)s, %(basis)s). Give the full notice or choose pay in lieu."
                )
                % values
            ]
        return [
            _(
                "The last day %(day)s is before the lawful earliest %(earliest)s "
                "(%(notice)s, %(basis)s); pay in lieu is not available here."
            )
            % values
        ]
    return [
        _("The last day %(day)s is before the lawful earliest %(earliest)s (%(notice)s).") % values
    ]


# ---------------------------------------------------------------- final pay


@dataclass(frozen=True)
class FinalPayDue:
    """When the final wages fall due, and why."""

    due_date: dt.date | None
    due_at: dt.datetime | None
    explanation: str
    legal_basis: tuple[str, ...]
    confidence: str


def final_pay_due(
    code: str,
    *,
    jurisdiction: str,
    last_day: dt.date,
    city_code: str | None = None,
    gave_notice_hours: float | None = None,
    quit_at: dt.datetime | None = None,
    requested_on: dt.date | None = None,
) -> FinalPayDue:
    """The final-pay deadline: CN at termination (a city's working days, e.g. Shenzhen 3);
    US-CA by discharge or quit (≥72 h notice: last day; else 72 h after quitting); JP within
    7 days of the worker's request; elsewhere per contract (to be confirmed)."""
    t = TYPES[code]
    top = rules.country(jurisdiction)
    r = rules.find("FINAL_PAY", jurisdiction=jurisdiction, on=last_day)
    basis = tuple(r.legal_basis) if r else ()
    conf = r.confidence if r else "R"
    p = r.params if r else {}
    if top == "CN":
        days = p.get("working_days")
        if city_code:
            cp = _city_or_none(city_code, last_day)
            if cp is not None and cp.final_pay_working_days is not None:
                days = cp.final_pay_working_days
        if days:
            due = add_working_days(last_day, int(days), jurisdiction)
            expl = _("Within %(days)s working days after the last day") % {"days": days}
            return FinalPayDue(due, None, expl, basis, conf)
        return FinalPayDue(last_day, None, _("In full on the last day"), basis, conf)
    if top == "US":
        hours = int(p.get("quit_without_notice_hours", 72))
        if t.initiator == "employee" and (gave_notice_hours or 0) < hours:
            start = quit_at or dt.datetime.combine(last_day, dt.time(17, 0))
            return FinalPayDue(
                None, start + dt.timedelta(hours=hours),
                _("Within %(h)s hours of quitting without %(h)s hours' notice") % {"h": hours},
                basis, conf,
            )  # fmt: skip
        if t.initiator == "employee":
            return FinalPayDue(last_day, None, _("On the last day (quit with notice)"), basis, conf)
        return FinalPayDue(last_day, None, _("Immediately at discharge"), basis, conf)
    if top == "JP":
        if requested_on is None:
            return FinalPayDue(None, None, _("Within 7 days of the worker's request"), basis, conf)
        days = int(p.get("days_after_request", 7))
        return FinalPayDue(
            requested_on + dt.timedelta(days=days), None,
            _("Within %(days)s days of the worker's request") % {"days": days}, basis, conf,
        )  # fmt: skip
    return FinalPayDue(None, None, _("Per the contract, normally the next payday"), basis, conf)


def _city_or_none(code: str, on: dt.date) -> rules.CityParams | None:
    try:
        return rules.city(code, on)
    except rules.RuleMissing:
        return None


def ca_waiting_time_penalty(daily_wage: Decimal, days_late: int, max_days: int = 30) -> Decimal:
    """Lab. Code §203: a day's wage for each day late, at most 30 days (0.01, half up)."""
    days = max(0, min(int(days_late), max_days))
    return (Decimal(daily_wage) * days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
