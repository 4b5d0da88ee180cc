"""/api/compliance: termination terms of a case, the rules resolved for a case, and the city
wage parameters.

- GET /cases/{id}/terms: the recorded (or default) terms with the legal assessment: earliest
  lawful last day, blocks, required steps. Anyone who sees the case; the protected statuses
  (sensitive: pregnancy, illness) only for HR and the leaver.
- PUT /cases/{id}/terms, POST …/terms/protection, …/terms/union-notice,
  …/terms/early-release: HR over the leaver.
- GET /cases/{id}/rules: every rule in force for the case's jurisdiction on its last day, and
  the city parameters.
- GET /city-parameters: anyone with org.view (published public figures).
  PUT /city-parameters/{code}/{effective_from}: group administrators.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import TokenScope
from baton.compliance import actions_terms as actions
from baton.compliance import rules
from baton.compliance import terminations as T
from baton.compliance.models.rules import CityParameter, TerminationTerms
from baton.core.api_errors import ErrorOut
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.handover.rules import is_leaver

router = Router(tags=["rules"])


class StepOut(Schema):
    code: str
    label: str
    legal_basis: list[str]
    done: bool = Field(..., description="Recorded on the terms (union notice) or not tracked.")


class NoticeOut(Schema):
    earliest_last_day: dt.date
    earliest_with_full_notice: dt.date
    description: str
    legal_basis: list[str]
    confidence: str = Field(..., description="P statute, S secondary source, R to be confirmed.")
    pay_in_lieu_allowed: bool
    pay_in_lieu_applied: bool
    in_probation: bool


class TermsOut(Schema):
    case_id: int
    recorded: bool = Field(..., description="False: defaults derived from the exit type.")
    jurisdiction: str
    termination_type: str
    termination_label: str
    severance_owed: bool
    notice_date: dt.date
    last_working_day: dt.date
    pay_in_lieu: bool
    protection: dict[str, bool] | None = Field(
        None, description="LCL 42 statuses; only for HR and the leaver."
    )
    union_notified_at: dt.date | None
    early_release_agreed_at: dt.date | None
    notice: NoticeOut
    blocked: list[str]
    last_day_errors: list[str]
    warnings: list[str]
    steps: list[StepOut]
    pay_in_lieu_days: int


class TermsIn(Schema):
    termination_type: str
    notice_date: dt.date
    pay_in_lieu: bool = False
    protection: dict[str, bool] | None = None
    protection_note: str | None = None
    union_notified_at: dt.date | None = None
    union_evidence: str | None = None
    early_release_agreed_at: dt.date | None = None
    early_release_note: str | None = None
    last_working_day: dt.date | None = None


class ProtectionIn(Schema):
    flags: dict[str, bool]
    note: str = ""


class UnionNoticeIn(Schema):
    notified_on: dt.date
    evidence: str


class EarlyReleaseIn(Schema):
    agreed_on: dt.date
    note: str
    last_working_day: dt.date | None = None


class RuleOut(Schema):
    rule_id: str
    jurisdiction: str
    rule_type: str
    effective_from: dt.date
    effective_to: dt.date | None
    params: dict[str, Any]
    legal_basis: list[str]
    confidence: str
    to_be_confirmed: bool
    notes: str


class CityParamOut(Schema):
    city_code: str
    effective_from: dt.date
    avg_monthly_wage: Decimal
    min_monthly_wage: Decimal
    final_pay_working_days: int | None
    confidence: str
    legal_basis: list[str]
    notes: str
    source: str


class CaseRulesOut(Schema):
    jurisdiction: str
    on: dt.date
    rules: list[RuleOut]
    city: CityParamOut | None


class CityParamIn(Schema):
    avg_monthly_wage: Decimal
    min_monthly_wage: Decimal
    final_pay_working_days: int | None = None
    confidence: str = "R"
    notes: str = ""
    legal_basis: list[str] = []


# ---------------------------------------------------------------- helpers


def _token_scope(request: AuthedRequest, scope: str) -> None:
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(_("You do not have permission to do this."))


def _case(request: AuthedRequest, case_id: int, *, write: bool = False) -> ExitCase:
    _token_scope(request, TokenScope.HANDOVER_WRITE if write else TokenScope.HANDOVER_READ)
    qs = ExitCase.objects.select_related("employee", "employee__work_city", "legal_entity")
    return authz.get_for(
        request.user, Perm.CASE_MANAGE if write else Perm.CASE_VIEW, qs, pk=case_id
    )


def _sees_protection(user: Any, case: ExitCase) -> bool:
    if is_leaver(user, case):
        return True
    return authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists()


def _terms_out(user: Any, case: ExitCase) -> dict[str, Any]:
    terms = TerminationTerms.objects.filter(case=case).first()
    a = actions.assess_case(case, terms)
    code = terms.termination_type if terms else T.for_case(case)
    t = T.TYPES[code]
    n = a.notice
    sees = _sees_protection(user, case)
    return {
        "case_id": case.pk,
        "recorded": terms is not None,
        "jurisdiction": rules.jurisdiction_for(case),
        "termination_type": code,
        "termination_label": str(t.label),
        "severance_owed": t.severance_owed,
        "notice_date": terms.notice_date if terms else actions.default_notice_date(case),
        "last_working_day": case.last_working_day,
        "pay_in_lieu": bool(terms and terms.pay_in_lieu),
        "protection": (dict(terms.protection) if terms else {}) if sees else None,
        "union_notified_at": terms.union_notified_at if terms else None,
        "early_release_agreed_at": terms.early_release_agreed_at if terms else None,
        "notice": {
            "earliest_last_day": n.earliest,
            "earliest_with_full_notice": n.earliest_with_full_notice,
            "description": n.description,
            "legal_basis": list(n.legal_basis),
            "confidence": n.confidence,
            "pay_in_lieu_allowed": n.pay_in_lieu_allowed,
            "pay_in_lieu_applied": n.pay_in_lieu_applied,
            "in_probation": n.in_probation,
        },
        # What blocks a termination names the protected status: for HR and the leaver only.
        "blocked": a.blocked
        if sees
        else [_("Blocked by a protected status (HR has the details).")] * bool(a.blocked),
        "last_day_errors": a.last_day_errors,
        "warnings": a.warnings if sees else [],
        "steps": [
            {
                "code": s.code,
                "label": str(s.label),
                "legal_basis": list(s.legal_basis),
                "done": bool(s.code == "union_notice" and terms and terms.union_notified_at),
            }
            for s in a.steps
        ],
        "pay_in_lieu_days": a.pay_in_lieu_days,
    }


def _rule_out(r: rules.Resolved) -> dict[str, Any]:
    row = r.rule
    return {
        "rule_id": row.rule_id,
        "jurisdiction": row.jurisdiction,
        "rule_type": row.rule_type,
        "effective_from": row.effective_from,
        "effective_to": row.effective_to,
        "params": r.params,
        "legal_basis": r.legal_basis,
        "confidence": r.confidence,
        "to_be_confirmed": r.to_be_confirmed,
        "notes": row.notes,
    }


# ---------------------------------------------------------------- endpoints


@router.get(
    "/cases/{int:case_id}/terms",
    response={200: TermsOut, 404: ErrorOut},
    operation_id="get_termination_terms",
)
def get_terms(request: AuthedRequest, case_id: int) -> Any:
    return _terms_out(request.user, _case(request, case_id))


@router.put(
    "/cases/{int:case_id}/terms",
    response={200: TermsOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="record_termination_terms",
)
def put_terms(request: AuthedRequest, case_id: int, payload: TermsIn) -> Any:
    case = _case(request, case_id, write=True)
    data = payload.model_dump(exclude_unset=True)
    actions.record_terms(case, data, acting_user=request.user)
    case.refresh_from_db()
    return _terms_out(request.user, case)


@router.post(
    "/cases/{int:case_id}/terms/protection",
    response={200: TermsOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="set_protection",
)
def post_protection(request: AuthedRequest, case_id: int, payload: ProtectionIn) -> Any:
    case = _case(request, case_id, write=True)
    actions.set_protection(case, payload.flags, note=payload.note, acting_user=request.user)
    return _terms_out(request.user, case)


@router.post(
    "/cases/{int:case_id}/terms/union-notice",
    response={200: TermsOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="record_union_notice",
)
def post_union_notice(request: AuthedRequest, case_id: int, payload: UnionNoticeIn) -> Any:
    case = _case(request, case_id, write=True)
    actions.record_union_notice(
        case, payload.notified_on, evidence=payload.evidence, acting_user=request.user
    )
    return _terms_out(request.user, case)


@router.post(
    "/cases/{int:case_id}/terms/early-release",
    response={200: TermsOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="agree_early_release",
)
def post_early_release(request: AuthedRequest, case_id: int, payload: EarlyReleaseIn) -> Any:
    case = _case(request, case_id, write=True)
    actions.agree_early_release(
        case,
        payload.agreed_on,
        note=payload.note,
        last_working_day=payload.last_working_day,
        acting_user=request.user,
    )
    case.refresh_from_db()
    return _terms_out(request.user, case)


@router.get(
    "/cases/{int:case_id}/rules",
    response={200: CaseRulesOut, 404: ErrorOut},
    operation_id="get_case_rules",
)
def get_case_rules(request: AuthedRequest, case_id: int) -> Any:
    case = _case(request, case_id)
    jurisdiction = rules.jurisdiction_for(case)
    on = case.last_working_day
    code = rules.city_code_for(case)
    city_row = (
        CityParameter.objects.filter(city_code=code, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
        if code and rules.country(jurisdiction) == "CN"
        else None
    )
    return {
        "jurisdiction": jurisdiction,
        "on": on,
        "rules": [_rule_out(r) for r in rules.resolve_all(jurisdiction=jurisdiction, on=on)],
        "city": city_row,
    }


@router.get(
    "/city-parameters",
    response={200: list[CityParamOut], 403: ErrorOut},
    operation_id="list_city_parameters",
)
def list_city_parameters(request: AuthedRequest, city: str = "") -> Any:
    _token_scope(request, TokenScope.ORG_READ)
    authz.require(request.user, Perm.ORG_VIEW)
    qs = CityParameter.objects.all()
    if city:
        qs = qs.filter(city_code=city.upper())
    return list(qs)


@router.put(
    "/city-parameters/{city_code}/{effective_from}",
    response={200: CityParamOut, 400: ErrorOut, 403: ErrorOut},
    operation_id="save_city_parameter",
)
def put_city_parameter(
    request: AuthedRequest, city_code: str, effective_from: dt.date, payload: CityParamIn
) -> Any:
    _token_scope(request, TokenScope.ORG_WRITE)
    return actions.save_city_parameter(
        city_code, effective_from, payload.model_dump(), acting_user=request.user
    )
