"""The case's "Lawful exit" page: HR sees the assessment and records the terms, protected
status and union notice through it; others see only the way to their pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from baton.access.models import User
from baton.compliance.models import TerminationTerms
from baton.handover.models import ExitCase

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def test_hr_sees_the_assessment_and_records_the_terms(
    client_as: Any, approved_case: ExitCase
) -> None:
    hr = client_as("hrbp.cloud")
    url = f"/compliance/cases/{approved_case.pk}/"
    page = hr.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="earliest"' in html and "Record the terms" in html
    notice = approved_case.last_working_day - dt.timedelta(days=40)
    response = hr.post(
        f"{url}terms/terms/",
        {"termination_type": "EE_NOTICE", "notice_date": notice.isoformat()},
        follow=True,
    )
    assert response.status_code == 200 and b"Termination terms recorded." in response.content
    terms = TerminationTerms.objects.get(case=approved_case)
    assert terms.termination_type == "EE_NOTICE" and terms.notice_date == notice
    # A last day sooner than the notice allows is refused, with the reason, and not saved.
    late = approved_case.last_working_day - dt.timedelta(days=5)
    refused = hr.post(
        f"{url}terms/terms/",
        {"termination_type": "EE_NOTICE", "notice_date": late.isoformat()},
        follow=True,
    )
    assert b"Termination terms recorded." not in refused.content
    assert TerminationTerms.objects.get(case=approved_case).notice_date == notice


def test_others_get_links_not_forms(client_as: Any, approved_case: ExitCase) -> None:
    url = f"/compliance/cases/{approved_case.pk}/"
    own = client_as("employee").get(url)
    assert own.status_code == 200
    assert b"Record the terms" not in own.content and b"/settlement/" in own.content
    assert client_as("employee").post(f"{url}terms/protection/", {}).status_code == 403
    assert client_as("hrbp.devices").get(url).status_code == 404
    case_page = client_as("hrbp.cloud").get(f"/handover/cases/{approved_case.pk}/")
    assert url.encode() in case_page.content
