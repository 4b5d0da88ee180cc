"""Rule packs as data: loading, resolution by (jurisdiction, date) with child overrides, city
wage parameters and their editing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.compliance import actions_packs, rules
from baton.compliance import actions_terms as actions
from baton.compliance.models import CityParameter, Rule
from baton.core.errors import InvalidInput

pytestmark = pytest.mark.django_db
D = dt.date


def test_packs_are_loaded_by_migrate() -> None:
    r = rules.resolve("CN.SEVERANCE.N", jurisdiction="CN", on=D(2025, 6, 30))
    assert r.params["high_earner_multiple"] == "3"
    assert r.params["high_earner_year_cap"] == 12
    assert r.params["remainder_lt_6m"] == "0.5"
    assert r.confidence == "P" and not r.to_be_confirmed
    assert "劳动合同法 47" in r.legal_basis


def test_every_row_has_basis_and_confidence() -> None:
    assert Rule.objects.count() > 40
    for row in Rule.objects.all():
        assert row.legal_basis, row
        assert row.confidence in ("P", "S", "R"), row
    for j in ("CN", "US-CA", "UK", "DE", "JP"):
        assert rules.resolve_all(jurisdiction=j, on=D(2025, 6, 30)), j


def test_loading_is_idempotent() -> None:
    before = Rule.objects.count(), CityParameter.objects.count()
    counts = actions_packs.load_packs()
    assert counts["created"] == 0 and counts["updated"] == 0
    assert (Rule.objects.count(), CityParameter.objects.count()) == before


def test_a_changed_shipped_figure_is_reinstalled_and_audited(tmp_path: Any) -> None:
    # A pack row whose shipped figures differ from the database (an upgrade, or a hand edit
    # that bypassed the UI) is refreshed, and the refresh is an audit entry with old → new;
    # a run that changes nothing writes none.
    pack = tmp_path / "cn_cities.yaml"
    pack.write_text((rules.PACKS_DIR / "cn_cities.yaml").read_text(encoding="utf-8"))
    row = CityParameter.objects.filter(source="pack").order_by("pk").first()
    assert row is not None
    shipped = row.avg_monthly_wage
    CityParameter.objects.filter(pk=row.pk).update(avg_monthly_wage=Decimal("1.00"))
    before = AuditEntry.objects.filter(event_type=AuditEvent.RULE_PACK_LOADED).count()
    counts = actions_packs.load_packs(tmp_path)
    assert counts["updated"] == 1 and counts["created"] == 0
    row.refresh_from_db()
    assert row.avg_monthly_wage == shipped
    entry = AuditEntry.objects.filter(event_type=AuditEvent.RULE_PACK_LOADED).order_by("id").last()
    assert entry is not None and entry.subject_id == str(row.pk) and entry.actor_id is None
    assert json.loads(entry.payload)["changes"]["avg_monthly_wage"][0] == "1.00"
    assert actions_packs.load_packs(tmp_path)["updated"] == 0
    after = AuditEntry.objects.filter(event_type=AuditEvent.RULE_PACK_LOADED).count()
    assert after == before + 1


def test_child_jurisdiction_overrides_parent() -> None:
    on = D(2025, 9, 1)
    assert rules.resolve("FINAL_PAY", jurisdiction="CN", on=on).params["working_days"] == 0
    sz = rules.resolve("CN.FINAL_PAY", jurisdiction="CN-SZ", on=on)
    assert sz.params["working_days"] == 3 and sz.jurisdiction == "CN-SZ"
    sh = rules.resolve("CN.FINAL_PAY", jurisdiction="CN-SH", on=on)
    assert sh.jurisdiction == "CN"  # no Shanghai row: the national rule
    # US-CA reads the US-wide at-will notice row and its own final-pay row.
    assert rules.resolve("NOTICE.EMPLOYEE", jurisdiction="US-CA", on=on).jurisdiction == "US"
    assert (
        rules.resolve("FINAL_PAY", jurisdiction="US-CA", on=on).params["penalty"]["max_days"] == 30
    )


def test_resolution_by_date() -> None:
    Rule.objects.create(
        rule_id="UK.REDUNDANCY_PAY", jurisdiction="UK", effective_from=D(2026, 4, 6),
        rule_type="severance_formula", params={"week_pay_cap": "751"},
        legal_basis=["test"], confidence="R",
    )  # fmt: skip
    old = Rule.objects.get(rule_id="UK.REDUNDANCY_PAY", effective_from=D(2025, 4, 6))
    assert rules.resolve("UK.REDUNDANCY_PAY", jurisdiction="UK", on=D(2025, 4, 6)).rule == old
    assert (
        rules.resolve("REDUNDANCY_PAY", jurisdiction="UK", on=D(2026, 4, 5)).params["week_pay_cap"]
        == "719"
    )
    assert (
        rules.resolve("REDUNDANCY_PAY", jurisdiction="UK", on=D(2026, 4, 6)).params["week_pay_cap"]
        == "751"
    )
    with pytest.raises(rules.RuleMissing) as err:
        rules.resolve("UK.REDUNDANCY_PAY", jurisdiction="UK", on=D(2025, 4, 5))
    assert "UK.REDUNDANCY_PAY" in err.value.message and "2025-04-05" in err.value.message
    # effective_to is exclusive: the pre-2008 severance rule ends the day before the LCL.
    assert rules.find("SEVERANCE.PRE_2008", jurisdiction="CN", on=D(2007, 12, 31))
    assert rules.find("SEVERANCE.PRE_2008", jurisdiction="CN", on=D(2008, 1, 1)) is None


def test_city_parameters_by_date_and_marked_illustrative() -> None:
    sz = rules.city("SZ", D(2025, 6, 30))
    assert isinstance(sz.avg_monthly_wage, Decimal)
    assert sz.final_pay_working_days == 3
    assert sz.confidence == "R" and sz.to_be_confirmed
    assert "illustrative, replace with the published figure" in sz.notes
    earlier = rules.city("SZ", D(2024, 6, 30))
    assert (
        earlier.effective_from == D(2024, 1, 1) and earlier.avg_monthly_wage < sz.avg_monthly_wage
    )
    for code in ("SH", "SZ", "BJ", "CD", "SU", "GZ"):
        assert "illustrative" in rules.city(code, D(2025, 6, 30)).notes
    with pytest.raises(rules.RuleMissing):
        rules.city("XX", D(2025, 6, 30))


def test_admin_edits_city_parameters_and_reload_keeps_them(users: Any) -> None:
    row = actions.save_city_parameter(
        "sz", D(2025, 1, 1),
        {"avg_monthly_wage": "13145.50", "min_monthly_wage": "2520", "final_pay_working_days": 3,
         "confidence": "P", "notes": "深圳市统计局 2025"},
        acting_user=users["admin"],
    )  # fmt: skip
    assert row.avg_monthly_wage == Decimal("13145.50") and row.source == "user"
    entry = AuditEntry.objects.filter(event_type=AuditEvent.RULE_PARAMETER_SAVED).last()
    assert entry is not None
    assert actions_packs.load_packs()["kept_user_edits"] == 1
    assert rules.city("SZ", D(2025, 6, 30)).avg_monthly_wage == Decimal("13145.50")
    for name in ("hrbp.cloud", "finance", "employee"):
        with pytest.raises(PermissionDenied):
            actions.save_city_parameter(
                "SZ", D(2025, 1, 1), {"avg_monthly_wage": "1", "min_monthly_wage": "1"},
                acting_user=users[name],
            )  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        actions.save_city_parameter(
            "SZ", D(2026, 1, 1), {"avg_monthly_wage": "2000", "min_monthly_wage": "2500"},
            acting_user=users["admin"],
        )  # fmt: skip
    assert "min_monthly_wage" in err.value.field_errors


def test_api_city_parameters(client_as: Any) -> None:
    listed = client_as("hrbp.cloud").get("/api/compliance/city-parameters?city=SZ")
    assert listed.status_code == 200
    assert {r["city_code"] for r in listed.json()} == {"SZ"}
    put = client_as("admin").put(
        "/api/compliance/city-parameters/SH/2026-01-01",
        {"avg_monthly_wage": "12500.00", "min_monthly_wage": "2740.00", "confidence": "R",
         "notes": "illustrative"},
        content_type="application/json",
    )  # fmt: skip
    assert put.status_code == 200, put.content
    assert put.json()["source"] == "user"
    denied = client_as("hrbp.cloud").put(
        "/api/compliance/city-parameters/SH/2026-01-01",
        {"avg_monthly_wage": "1.00", "min_monthly_wage": "1.00"},
        content_type="application/json",
    )
    assert denied.status_code == 403
    assert rules.city("SH", D(2026, 2, 1)).avg_monthly_wage == Decimal("12500.00")


def test_jurisdiction_for_case(approved_case: Any) -> None:
    j = rules.jurisdiction_for(approved_case)
    code = rules.city_code_for(approved_case)
    assert j == (f"CN-{code}" if code else "CN")
