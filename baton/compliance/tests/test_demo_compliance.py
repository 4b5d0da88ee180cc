"""The issue's "done when" on the demo: a settlement and a certificate for each CN termination
type, and one case under each other jurisdiction."""

from __future__ import annotations

from typing import Any

import pytest

from baton.compliance import demo
from baton.compliance.models import Certificate, Settlement, TerminationTerms
from baton.handover import packs

pytestmark = pytest.mark.django_db


def test_the_demo_shows_every_cn_termination_type_and_each_jurisdiction(
    users: dict[str, Any], client_as: Any
) -> None:
    packs.install(acting_user=users["admin"])
    made = demo.showcase(log=lambda _m: None)
    assert made == {"settlements": 10, "certificates": 10, "overseas": 4}
    types = set(TerminationTerms.objects.values_list("termination_type", flat=True))
    assert set(demo.CN_TYPES) <= types
    assert Settlement.objects.filter(state="approved").count() == 10
    jurisdictions = set(
        TerminationTerms.objects.values_list("case__legal_entity__jurisdiction", flat=True)
    )
    assert {"CN", "US-CA", "UK", "DE", "JP"} <= jurisdictions
    jp = Certificate.objects.get(case__legal_entity__jurisdiction="JP")
    page = client_as("admin").get(f"/compliance/cases/{jp.case_id}/")
    assert page.status_code == 200


def test_the_certificate_register_lists_what_hr_may_see(
    users: dict[str, Any], client_as: Any
) -> None:
    packs.install(acting_user=users["admin"])
    demo.showcase(log=lambda _m: None)
    numbers = list(Certificate.objects.values_list("number", flat=True))
    page = client_as("admin").get("/compliance/certificates/")
    assert page.status_code == 200
    assert all(n.encode() in page.content for n in numbers)
    cloud = client_as("hrbp.cloud").get("/compliance/certificates/").content
    others = Certificate.objects.exclude(case__business_unit__code="C")
    assert not any(c.number.encode() in cloud for c in others)
    assert client_as("employee").get("/compliance/certificates/").status_code == 403
