"""The statutory deadline tracker: what the employer owes by law after someone leaves, by when.

**Planning** happens inside the action that changed the case (the audit trail's listener,
`on_audit`): approving a case (or revealing / restoring one) creates its deadlines from the
jurisdiction's table below, each (except the retention period) with a handover task in the HR
queue that never blocks clearance — the handover does not gate these obligations and they do not
gate the handover (LCL 50). Moving the last working day moves the open ones. A fixed number of
queries: one bulk insert of tasks and one of deadlines.

**Tracking**: issuing the certificate completes the certificate deadline and its task; HR marks
the others done with a note of the evidence (`complete_deadline`), or accepts the task through
the ordinary task page, which completes the deadline too. A deadline is overdue from the day after
its due date while not done.

The changes (planning, completing) are in `baton.compliance.actions_deadlines`. The day
counts, legal basis and confidence come from the rule packs (`baton.compliance.rules`,
resolved by the case's jurisdiction and last working day); `RULE_IDS` says which obligations
each country has and which rule holds each.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy

from baton.compliance import rules
from baton.compliance.models import DeadlineKind as K
from baton.compliance.models import StatutoryDeadline
from baton.handover.models import CaseState, ExitCase

# Cases whose deadlines are planned: approved onwards (a closed case keeps what it has).
PLANNED_CASE_STATES = (CaseState.APPROVED, CaseState.HANDOVER, CaseState.CLEARED)
TASK_SORT = 900  # after the checklist's own items, before the connectors' revocations
TASK_KEY = "statutory-"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadlineRule:
    """One statutory obligation as it applies to a case: due `days` calendar days (or `years`)
    after the last working day (`from_next_day`: the text counts from the day after — the same
    due day), its legal basis and the confidence of the source ([P] primary text, [S]
    secondary, [R] to be confirmed)."""

    kind: K
    days: int
    legal_basis: str
    confidence: str = "P"
    years: int = 0
    retention: bool = False
    from_next_day: bool = False


# Which obligations each country has, and the rule in the rule packs (baton/compliance/packs)
# that holds their day counts, legal basis and confidence, resolved by (jurisdiction, date).
# The JP 退職証明書 is owed "without delay" once the worker asks (no fixed day), so it has no
# deadline row; the employment-insurance loss report does.
RULE_IDS: dict[str, tuple[tuple[K, str], ...]] = {
    "CN": (
        (K.CERTIFICATE, "CN.EXIT_CERT"),
        (K.UNEMPLOYMENT_FILING, "CN.DEADLINE.UNEMPLOYMENT_FILING"),
        (K.PERSONNEL_FILE, "CN.DEADLINE.FILE_TRANSFER"),
        (K.SOCIAL_INSURANCE, "CN.DEADLINE.SOCIAL_INSURANCE"),
        (K.HOUSING_FUND, "CN.DEADLINE.HOUSING_FUND"),
        (K.CONTRACT_RETENTION, "CN.DEADLINE.CONTRACT_RETENTION"),
    ),
    "JP": ((K.EMPLOYMENT_INSURANCE_LOSS, "JP.DEADLINE.EMPLOYMENT_INSURANCE"),),
}

CRITERIA = {
    K.CERTIFICATE: gettext_lazy(
        "Issue the separation certificate on the last working day (Compliance → certificate). "
        "Issuing it completes this item. It is never held back for the handover (LCL 50, 89)."
    ),
    K.UNEMPLOYMENT_FILING: gettext_lazy(
        "The leaver's name is filed with the social-insurance agency within 7 days of the "
        "termination; note the filing reference."
    ),
    K.PERSONNEL_FILE: gettext_lazy(
        "The personnel file (档案) is transferred within 15 days; note where it went."
    ),
    K.SOCIAL_INSURANCE: gettext_lazy(
        "The social-insurance relationship is transferred within 15 days; note the reference."
    ),
    K.HOUSING_FUND: gettext_lazy(
        "The housing-fund change is registered and the account transferred or sealed within "
        "30 days; note the reference."
    ),
    K.EMPLOYMENT_INSURANCE_LOSS: gettext_lazy(
        "The loss of employment-insurance status is reported within 10 days (with the "
        "separation slip if the worker wants one)."
    ),
}


def rules_for(case: ExitCase) -> list[DeadlineRule]:
    """The case's obligations with their day counts, from the rule packs in force on the last
    working day in the case's jurisdiction (a city's rule overrides the country's). One query.
    An obligation whose rule is missing from the packs is not planned."""
    jurisdiction = rules.jurisdiction_for(case)
    wanted = RULE_IDS.get(rules.country(jurisdiction), ())
    if not wanted:
        return []
    resolved = {
        r.rule.rule_id: r
        for r in rules.resolve_all(jurisdiction=jurisdiction, on=case.last_working_day)
    }
    out: list[DeadlineRule] = []
    for kind, rule_id in wanted:
        r = resolved.get(rule_id)
        if r is None:
            logger.warning("no rule %s in force for %s", rule_id, jurisdiction)
            continue
        p = r.params
        years = int(p.get("years") or 0)
        out.append(
            DeadlineRule(
                kind=kind,
                days=int(p.get("offset_days", p.get("due_offset_days", 0)) or 0),
                legal_basis="; ".join(r.legal_basis)[:200],
                confidence=r.confidence,
                years=years,
                retention=kind == K.CONTRACT_RETENTION,
                from_next_day=p.get("from") == "day_after_last_day",
            )
        )
    return out


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def due_date(rule: DeadlineRule, last_day: dt.date) -> dt.date:
    """Calendar days (the statutes count 日, not working days)."""
    if rule.years:
        return add_years(last_day, rule.years)
    # "Within N days from the day after" (JP 翌日から10日以内) counts the day after as day 1,
    # which ends on the same day as "within N days of" the last day (CN): last day + N.
    return last_day + dt.timedelta(days=rule.days)


def is_overdue(deadline: StatutoryDeadline, today: dt.date | None = None) -> bool:
    """Open and past its due date (the certificate: from the day after the last day)."""
    if deadline.is_retention or deadline.is_done:
        return False
    return (today or timezone.localdate()) > deadline.due_date


def for_cases(case_ids: Iterable[int]) -> dict[int, list[StatutoryDeadline]]:
    """Deadlines of several cases in one query (for lists and boards)."""
    out: dict[int, list[StatutoryDeadline]] = {}
    for row in StatutoryDeadline.objects.filter(case_id__in=list(case_ids)).select_related(
        "done_by"
    ):
        out.setdefault(row.case_id, []).append(row)
    return out
