"""Resolving legal rules and city wage parameters by jurisdiction and date.

Stable API for the other compliance parts:

    from baton.compliance import rules

    r = rules.resolve("CN.SEVERANCE.N", jurisdiction="CN-SZ", on=last_day)
    r.params            # dict from the pack, e.g. {"high_earner_multiple": 3, ...}
    r.legal_basis       # ["劳动合同法 46", ...]
    r.confidence        # "P" | "S" | "R"  (R: show "to be confirmed")
    r.rule              # the Rule row (jurisdiction, effective_from, notes)
    r.to_be_confirmed   # confidence == "R"

    p = rules.city("SZ", on=last_day)
    p.avg_monthly_wage, p.min_monthly_wage   # Decimal (CNY per month)
    p.final_pay_working_days                 # int | None (None: at termination)
    p.confidence, p.notes                    # demo figures are "R" and say "illustrative"

    rules.jurisdiction_for(case)   # "CN-SZ": the entity's country + the work city, if CN
    rules.city_code_for(case)      # "SZ": the place of performance (Impl. Reg. 14)

Resolution: a rule id is "<COUNTRY>.<NAME>" (a short "<NAME>" gets the country of the
jurisdiction prepended). The jurisdiction chain is tried from the most specific ("CN-SZ") to
the country ("CN"); within one jurisdiction the latest version with effective_from ≤ on and
(effective_to empty or > on) wins. Missing rule or city figures raise `RuleMissing` (a
translated 409 Conflict naming what is missing).

Packs (`packs/*.yaml`) are read here and installed, audited, by
`baton.compliance.actions_packs.load_packs()`: after every `baton migrate` (post_migrate) and
by `baton compliance load-rules`. A row an administrator edited (source "user") is never
overwritten by a reload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.db.models import Q
from django.utils.translation import gettext as _

from baton.compliance.models.rules import CityParameter, Confidence, Rule
from baton.core.errors import Conflict

PACKS_DIR = Path(__file__).parent / "packs"


class RuleMissing(Conflict):
    """No rule or city parameter answers for the jurisdiction and date asked."""


@dataclass(frozen=True)
class Resolved:
    """One rule as it applies on one date in one jurisdiction."""

    params: dict[str, Any]
    legal_basis: list[str]
    confidence: str
    rule: Rule

    @property
    def to_be_confirmed(self) -> bool:
        return self.confidence == Confidence.TO_CONFIRM

    @property
    def jurisdiction(self) -> str:
        return self.rule.jurisdiction


@dataclass(frozen=True)
class CityParams:
    """A city's wage figures as they apply on one date."""

    avg_monthly_wage: Decimal
    min_monthly_wage: Decimal
    final_pay_working_days: int | None
    confidence: str
    city_code: str = ""
    effective_from: dt.date | None = None
    notes: str = ""
    legal_basis: tuple[str, ...] = ()

    @property
    def to_be_confirmed(self) -> bool:
        return self.confidence == Confidence.TO_CONFIRM


def chain(jurisdiction: str) -> list[str]:
    """Most specific first: "CN-SZ" → ["CN-SZ", "CN"]; "US-CA" → ["US-CA", "US"]."""
    parts = jurisdiction.upper().split("-")
    return ["-".join(parts[:i]) for i in range(len(parts), 0, -1)]


def country(jurisdiction: str) -> str:
    return chain(jurisdiction)[-1]


def full_id(rule_id: str, jurisdiction: str) -> str:
    top = country(jurisdiction)
    return rule_id if rule_id.startswith(top + ".") else f"{top}.{rule_id}"


def _in_force(on: dt.date) -> Q:
    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gt=on))


def resolve(rule_id: str, *, jurisdiction: str, on: dt.date) -> Resolved:
    """The version of a rule in force on `on` in the most specific jurisdiction that has one."""
    rid = full_id(rule_id, jurisdiction)
    scopes = chain(jurisdiction)
    rows = list(
        Rule.objects.filter(_in_force(on), rule_id=rid, jurisdiction__in=scopes).order_by(
            "-effective_from"
        )
    )
    for scope in scopes:
        for row in rows:  # latest first
            if row.jurisdiction == scope:
                return Resolved(dict(row.params), list(row.legal_basis), row.confidence, row)
    raise RuleMissing(
        _("No rule %(rule)s is in force for %(jurisdiction)s on %(date)s.")
        % {"rule": rid, "jurisdiction": jurisdiction, "date": on.isoformat()}
    )


def find(rule_id: str, *, jurisdiction: str, on: dt.date) -> Resolved | None:
    """Like `resolve`, but None when no rule is in force."""
    try:
        return resolve(rule_id, jurisdiction=jurisdiction, on=on)
    except RuleMissing:
        return None


def resolve_all(*, jurisdiction: str, on: dt.date) -> list[Resolved]:
    """Every rule in force for a jurisdiction on a date (children overriding parents)."""
    scopes = chain(jurisdiction)
    best: dict[str, tuple[int, Rule]] = {}
    for row in Rule.objects.filter(_in_force(on), jurisdiction__in=scopes).order_by(
        "effective_from"
    ):
        rank = scopes.index(row.jurisdiction)
        held = best.get(row.rule_id)
        if held is None or rank <= held[0]:  # more specific, or a later version of the same
            best[row.rule_id] = (rank, row)
    return [
        Resolved(dict(r.params), list(r.legal_basis), r.confidence, r)
        for _rank, r in sorted(best.values(), key=lambda x: x[1].rule_id)
    ]


def city(city_code: str, on: dt.date) -> CityParams:
    """A city's wage parameters in force on a date (the latest row from on or before it)."""
    row = (
        CityParameter.objects.filter(city_code=city_code, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )
    if row is None:
        raise RuleMissing(
            _("No wage parameters are recorded for city %(city)s on %(date)s.")
            % {"city": city_code, "date": on.isoformat()}
        )
    return CityParams(
        avg_monthly_wage=row.avg_monthly_wage,
        min_monthly_wage=row.min_monthly_wage,
        final_pay_working_days=row.final_pay_working_days,
        confidence=row.confidence,
        city_code=row.city_code,
        effective_from=row.effective_from,
        notes=row.notes,
        legal_basis=tuple(row.legal_basis or ()),
    )


def city_code_for(case: Any) -> str | None:
    """The city of performance of the leaver's work (Impl. Reg. 14), or None."""
    work_city = getattr(case.employee, "work_city", None)
    return work_city.code if work_city is not None else None


def jurisdiction_for(case: Any) -> str:
    """The jurisdiction whose law governs the exit: the employing entity's, narrowed to the
    work city for CN ("CN-SZ") so city overrides apply."""
    base = (case.legal_entity.jurisdiction or "CN").upper()
    code = city_code_for(case)
    if base == "CN" and code:
        return f"CN-{code.upper()}"
    return base


# ---------------------------------------------------------------- packs


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def read_packs(directory: Path = PACKS_DIR) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rule rows and city rows of every pack file, validated."""
    rule_rows: list[dict[str, Any]] = []
    city_rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        default_j = doc.get("jurisdiction")
        for raw in doc.get("rules", []):
            j = raw.get("jurisdiction", default_j)
            conf = raw.get("confidence")
            if not j or conf not in Confidence.values or not raw.get("legal_basis"):
                raise ValueError(f"{path.name}: {raw.get('id')}: jurisdiction, confidence, basis")
            rule_rows.append(
                {
                    "rule_id": full_id(raw["id"], j),
                    "jurisdiction": j,
                    "effective_from": _date(raw["effective_from"]),
                    "effective_to": _date(raw.get("effective_to")),
                    "rule_type": raw["rule_type"],
                    "params": raw.get("params") or {},
                    "legal_basis": list(raw["legal_basis"]),
                    "confidence": conf,
                    "notes": (raw.get("notes") or "").strip(),
                }
            )
        for raw in doc.get("cities", []):
            if raw.get("confidence") not in Confidence.values:
                raise ValueError(f"{path.name}: city {raw.get('city')}: confidence")
            city_rows.append(
                {
                    "city_code": raw["city"],
                    "effective_from": _date(raw["effective_from"]),
                    "avg_monthly_wage": Decimal(str(raw["avg_monthly_wage"])),
                    "min_monthly_wage": Decimal(str(raw["min_monthly_wage"])),
                    "final_pay_working_days": raw.get("final_pay_working_days"),
                    "confidence": raw["confidence"],
                    "legal_basis": list(raw.get("legal_basis") or []),
                    "notes": (raw.get("notes") or "").strip(),
                }
            )
    return rule_rows, city_rows
