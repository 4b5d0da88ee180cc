"""The separation certificate in a real browser (headless Debian Chromium via Playwright): HR
issues it on the case's certificate page while the handover is still open (ticking "hold until
the handover is complete" is refused first, with the legal reason), downloads the PDF, and the
test reads its text; the leaver downloads the same file; then, signed out, the verification URL
printed on the certificate (and encoded in its QR code) shows it as genuine.

Clicks go by stable selectors (form actions, classes, ids), never by translated labels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from baton.access.models import User
from baton.compliance import certificates as docs
from baton.compliance.models import Certificate
from baton.compliance.tests.pdftext import pdf_lines
from baton.core.tests import browser_fixtures
from baton.core.tests.browser_fixtures import Tab
from baton.handover import actions, packs
from baton.handover.models import DONE_TASK_STATES, ExitCase
from baton.org.models import Employee

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

browser = browser_fixtures.browser
open_tab = browser_fixtures.open_tab


def _approved_case() -> ExitCase:
    """The demo `employee` resigns (last day 31 Dec 2026) and `head.rd` approves."""
    admin = User.objects.get(username="admin")
    packs.install(acting_user=admin)
    employee = User.objects.get(username="employee")
    case = actions.open_case(
        Employee.objects.get(user=employee),
        acting_user=employee,
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        reason="个人发展",
        submit=True,
    )
    return actions.approve_case(case, acting_user=User.objects.get(username="head.rd"))


def _download(tab: Tab) -> bytes:
    with tab.page.expect_download() as info:
        tab.page.locator("a.cert-download").first.click()
    download = info.value
    return Path(download.path()).read_bytes()


def test_issue_download_and_verify_a_certificate(
    open_tab: Any, live_server: Any, settings: Any
) -> None:
    settings.BATON_PUBLIC_URL = live_server.url
    case = _approved_case()
    assert case.tasks.filter(blocks_clearance=True).exclude(state__in=DONE_TASK_STATES).exists()
    page = f"/compliance/cases/{case.pk}/certificate/"
    issue = f'form[action="{page}issue/"]'

    hr = open_tab()
    hr.login("hrbp.cloud")
    assert hr.goto(page).status == 200
    assert hr.page.locator("a.cert-download").count() == 0

    # Holding it back for the handover is refused with the legal reason; nothing is issued.
    hr.page.locator(f'{issue} input[name="hold_until_handover"]').check()
    with hr.page.expect_navigation() as nav:
        hr.page.locator(f"{issue} button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 409
    refusal = hr.page.locator(f"{issue} .form-error").inner_text()
    # In hrbp.cloud's language (zh-Hans): LCL 50 and 89 by name.
    assert "第五十条" in refusal and "第八十九条" in refusal, refusal
    assert not Certificate.objects.filter(case=case).exists()

    # Issued with the handover still open.
    with hr.page.expect_navigation():
        hr.page.locator(f"{issue} button[type=submit]").click()
    assert hr.page.url == hr.base_url + page
    cert = Certificate.objects.get(case=case)
    assert hr.page.locator(f"#cert-{cert.pk}").count() == 1

    pdf = _download(hr)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == cert.pdf_sha256
    lines = pdf_lines(pdf)
    text = "\n".join(lines)
    employee = case.employee
    assert "离职证明" in text and employee.name in text and cert.number in text
    assert case.legal_entity.name in text
    for key in ("contract_term", "termination_date", "position", "years_of_service"):
        assert cert.facts[key] in text, key
    assert "2026年12月31日" in text and employee.position.title in text
    assert "个人发展" not in text and "辞职" not in text
    url = next(line for line in lines if "/verify/" in line)
    assert url.startswith(live_server.url + "/verify/")
    assert docs.code_hash(url.rstrip("/").rsplit("/", 1)[1]) == cert.code_hash

    # The leaver downloads the very same document.
    leaver = open_tab()
    leaver.login("employee")
    assert leaver.goto(page).status == 200
    assert leaver.page.locator(f'form[action="{page}revoke/"]').count() == 0
    assert hashlib.sha256(_download(leaver)).hexdigest() == cert.pdf_sha256

    # Anyone, signed out, checks it at the printed URL.
    stranger = open_tab()
    response = stranger.page.goto(url)
    assert response is not None and response.status == 200
    assert stranger.page.locator(".verify-genuine").count() == 1
    assert stranger.page.locator("#verify-number").inner_text().strip() == cert.number
    shown = stranger.page.locator("main").inner_text()
    assert docs.mask_name(employee.name) in shown and employee.name not in shown
    assert cert.facts["contract_term"] not in shown
    assert stranger.csp_violations() == [] and hr.csp_violations() == []
    missing = stranger.page.goto(live_server.url + "/verify/ABCDEFGHJKMNPQRS/")
    assert missing is not None and missing.status == 404
