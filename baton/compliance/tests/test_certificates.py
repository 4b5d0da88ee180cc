"""The separation certificate (离职证明) and the JP 退職証明書: what it states (exactly the four
facts of Impl. Reg. 24, neutral), the sandboxed templates, the register's numbering, issuing
whatever the handover state, the refused hold (LCL 50, 89), downloads and public verification."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_certificates as actions
from baton.compliance import certificates as docs
from baton.compliance.models import Certificate, CertificateKind, CertificateTemplate
from baton.compliance.tests.pdftext import pdf_lines
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase, ExitType
from baton.org.models import (
    City,
    Contract,
    Employee,
    EmployeeStatus,
    LegalEntity,
)

pytestmark = pytest.mark.django_db

FOUR_FACTS = {"contract_term", "termination_date", "position", "years_of_service"}


def _entries(event: E, subject: Any) -> int:
    return AuditEntry.objects.filter(
        event_type=event,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
    ).count()


def _another_case(
    users: dict[str, Any], *, entity: LegalEntity | None = None, n: int = 0
) -> ExitCase:
    """An approved resignation of another employee in the cloud-software unit (HR opens it)."""
    qs = Employee.objects.filter(
        business_unit__code="C",
        status=EmployeeStatus.ACTIVE,
        user__isnull=True,
        position__isnull=False,
        contracts__isnull=False,
    ).distinct()
    if entity is not None:
        qs = qs.filter(legal_entity=entity)
    emp = qs.order_by("employee_number")[n]
    case = ho.open_case(
        emp,
        acting_user=users["hrbp.cloud"],
        exit_type=ExitType.EMPLOYER_NO_FAULT,
        last_working_day=dt.date(2026, 12, 31),
        reason="绩效不达标，严重违纪",  # a reason that must never reach the certificate
        submit=True,
    )
    return ho.approve_case(case, acting_user=users["hrbp.cloud"])


# ---------------------------------------------------------------- content


def test_cn_certificate_states_exactly_the_four_facts_and_no_reason(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    case = approved_case
    hr = users["hrbp.cloud"]
    cert = actions.issue_certificate(case, acting_user=hr)
    emp = case.employee
    contract = docs.contract_for(case)
    assert contract is not None

    # The frozen facts: who, the employer, number and date, and the four facts — nothing else.
    assert set(cert.facts) == FOUR_FACTS | {
        "name",
        "employer",
        "number",
        "issue_date",
        "termination_word",
    }
    years, months = docs.service_span(docs.service_start(case), case.last_working_day)
    assert cert.facts["position"] == emp.position.title
    assert cert.facts["termination_date"] == "2026年12月31日"
    assert cert.facts["termination_word"] == "解除"
    assert cert.facts["years_of_service"] == docs.years_text(years, months)
    assert cert.facts["contract_term"] == docs.contract_term_text(contract)
    assert cert.dated == dt.date(2026, 12, 31)  # issued early: dated the last working day

    # The PDF as downloaded says exactly that, and nothing of the reason or the exit type.
    pdf = actions.read_certificate_pdf(cert, acting_user=hr)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == cert.pdf_sha256
    text = "\n".join(pdf_lines(pdf))
    for key in FOUR_FACTS | {"name", "employer", "number"}:
        assert cert.facts[key] in text, key
    assert "离职证明" in text
    assert case.reason not in text and "职业发展" not in text
    for label in ("辞职", "Resignation", "违纪", "原因", "事由"):
        assert label not in text
    code_line = next(line for line in pdf_lines(pdf) if "/verify/" in line)
    assert code_line.startswith("http://") or code_line.startswith("https://")
    # One page, laid out from the same HTML.
    template = CertificateTemplate.objects.get(pk=cert.template_id)
    rendered = docs.render_html(template, cert.facts, code="0" * 16)
    assert len(docs.to_document(rendered).pages) == 1
    assert "原因" not in rendered.html and case.reason not in rendered.html


def test_years_of_service_and_contract_term_wording() -> None:
    assert docs.service_span(dt.date(2021, 3, 15), dt.date(2026, 12, 31)) == (5, 9)
    assert docs.service_span(dt.date(2021, 1, 1), dt.date(2025, 12, 31)) == (5, 0)
    assert docs.service_span(dt.date(2026, 12, 1), dt.date(2026, 12, 20)) == (0, 0)
    assert docs.years_text(5, 9) == "5年9个月"
    assert docs.years_text(3, 0) == "3年"
    assert docs.years_text(0, 4) == "4个月"
    assert docs.years_text(0, 0) == "不足1个月"
    fixed = Contract(contract_type="fixed_term", start_date=dt.date(2024, 1, 1))
    fixed.end_date = dt.date(2026, 12, 31)
    assert docs.contract_term_text(fixed) == "自2024年1月1日至2026年12月31日"
    open_ended = Contract(contract_type="open_ended", start_date=dt.date(2020, 5, 1))
    assert docs.contract_term_text(open_ended) == "自2020年5月1日起的无固定期限"
    assert docs.mask_name("张三") == "张*"
    assert docs.mask_name("欧阳娜娜") == "欧阳**"
    assert docs.mask_name("Anna Smith") == "A*** S****"


def test_issuing_works_with_open_handover_items(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    case = approved_case
    open_blocking = case.tasks.filter(blocks_clearance=True).exclude(state__in=DONE_TASK_STATES)
    assert open_blocking.count() > 0 and case.state == CaseState.APPROVED
    cert = actions.issue_certificate(case, acting_user=users["hrbp.cloud"])
    assert cert.number and _entries(E.CERTIFICATE_ISSUED, cert) == 1
    entry = AuditEntry.objects.get(event_type=E.CERTIFICATE_ISSUED, subject_id=str(cert.pk))
    assert '"handover_state":"approved"' in entry.payload
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED  # the handover is untouched either way


def test_hold_for_the_handover_is_refused_with_the_reason(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any
) -> None:
    case = approved_case
    with pytest.raises(Conflict) as refused:
        actions.hold_certificate(case, acting_user=users["hrbp.cloud"], reason="handover open")
    message = refused.value.message
    assert "50" in message and "89" in message and "severance" in message
    assert _entries(E.CERTIFICATE_HOLD_REFUSED, case) == 1

    # The page: ticking "hold until handover complete" is refused, nothing is issued.
    hr = client_as("hrbp.cloud")
    url = f"/compliance/cases/{case.pk}/certificate/issue/"
    response = hr.post(url, {"hold_until_handover": "on"})
    assert response.status_code == 409
    assert "89" in response.content.decode()
    assert not Certificate.objects.filter(case=case).exists()
    assert _entries(E.CERTIFICATE_HOLD_REFUSED, case) == 2
    # Unticked, the same form issues it.
    response = hr.post(url, {})
    assert response.status_code == 302
    assert Certificate.objects.filter(case=case, revoked_at__isnull=True).count() == 1


def test_only_hr_issues(users: dict[str, Any], approved_case: ExitCase) -> None:
    for name in ("employee", "head.rd", "finance", "auditor", "hrbp.devices"):
        with pytest.raises(PermissionDenied):
            actions.issue_certificate(approved_case, acting_user=users[name])
    assert not Certificate.objects.exists()


def test_not_for_a_draft_and_one_valid_at_a_time(users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    emp = Employee.objects.get(user=users["employee"])
    case = ho.open_case(
        emp,
        acting_user=users["employee"],
        exit_type=ExitType.RESIGNATION,
        last_working_day=dt.date(2026, 12, 31),
    )
    with pytest.raises(Conflict):  # a draft is not a resignation yet
        actions.issue_certificate(case, acting_user=hr)
    case = ho.submit_case(case, acting_user=users["employee"])
    from baton.handover import packs

    packs.install(acting_user=users["admin"])
    case = ho.approve_case(case, acting_user=users["head.rd"])
    first = actions.issue_certificate(case, acting_user=hr)
    with pytest.raises(Conflict):
        actions.issue_certificate(case, acting_user=hr)
    with pytest.raises(InvalidInput):
        actions.revoke_certificate(first, acting_user=hr, reason=" ")
    actions.revoke_certificate(first, acting_user=hr, reason="职位名称有误")
    second = actions.issue_certificate(case, acting_user=hr)
    assert second.sequence == first.sequence + 1


def test_late_issue_is_dated_the_day_of_issue(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    hr = users["hrbp.cloud"]
    past = timezone.localdate() - dt.timedelta(days=3)
    case = ho.change_last_day(approved_case, past, acting_user=hr)
    cert = actions.issue_certificate(case, acting_user=hr)
    assert cert.dated == timezone.localdate()
    assert cert.facts["termination_date"] == docs.cn_date(past)


# ---------------------------------------------------------------- numbering


def test_numbers_are_sequential_per_entity_and_year(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    hr = users["hrbp.cloud"]
    entity = approved_case.legal_entity
    cases = [approved_case] + [_another_case(users, entity=entity, n=i) for i in range(2)]
    certs = [actions.issue_certificate(c, acting_user=hr) for c in cases]
    prefix = f"{entity.group.code}-{entity.code}-2026-"
    assert [c.number for c in certs] == [f"{prefix}{i:04d}" for i in (1, 2, 3)]
    assert re.fullmatch(r"HX-C[A-Z]{2}-2026-0001", certs[0].number)
    # Another entity of the group counts on its own.
    other = LegalEntity.objects.filter(business_unit__code="C").exclude(pk=entity.pk).first()
    if other is not None and Employee.objects.filter(legal_entity=other).exists():
        c = actions.issue_certificate(_another_case(users, entity=other), acting_user=hr)
        assert c.number == f"{other.group.code}-{other.code}-2026-0001"
    assert len({c.number for c in Certificate.objects.all()}) == Certificate.objects.count()


# ---------------------------------------------------------------- sandbox and templates


def test_template_sandbox(users: dict[str, Any], approved_case: ExitCase) -> None:
    kind = CertificateKind.CN_SEPARATION
    body = docs.DEFAULT_TEMPLATES[kind][1]
    docs.check_body(kind, body)
    with pytest.raises(docs.TemplateError):
        docs.check_body(kind, body + "\n离职原因：{reason}")  # the reason is not a fact here
    with pytest.raises(docs.TemplateError):
        docs.check_body(kind, body.replace("{years_of_service}", ""))  # a required fact missing
    with pytest.raises(docs.TemplateError):
        docs.check_body(kind, body + "{employee.user.password}")
    # Template language and markup are just text; facts are escaped.
    paragraphs = docs.render_body(
        "{% load x %}{{ settings.SECRET_KEY }} <script>{name}</script>",
        {"name": "<b>张三</b>"},
        frozenset(),
    )
    assert paragraphs == [
        "{% load x %}{{ settings.SECRET_KEY }} &lt;script&gt;&lt;b&gt;张三&lt;/b&gt;&lt;/script&gt;"
    ]

    admin = users["admin"]
    with pytest.raises(InvalidInput):
        actions.publish_template(kind, acting_user=admin, title="离职证明", body="{reason}")
    with pytest.raises(PermissionDenied):
        actions.publish_template(kind, acting_user=users["employee"], title="x", body=body)
    with pytest.raises(PermissionDenied):  # a business unit's HR does not reword the group's
        actions.publish_template(kind, acting_user=users["hrbp.cloud"], title="x", body=body)
    v2 = actions.publish_template(
        kind, acting_user=admin, title="离职证明书", body=body.replace("特此证明。", "特此证明！")
    )
    assert v2.version == 2 and _entries(E.CERTIFICATE_TEMPLATE_PUBLISHED, v2) == 1
    cert = actions.issue_certificate(approved_case, acting_user=users["hrbp.cloud"])
    assert cert.template_id == v2.pk
    text = "".join(pdf_lines(actions.read_certificate_pdf(cert, acting_user=admin)))
    assert "离职证明书" in text and "特此证明！" in text


# ---------------------------------------------------------------- JP 退職証明書


def _jp_case(users: dict[str, Any]) -> ExitCase:
    """A worker of a Tokyo entity of the group, leaving; HR of the group (admin) runs it."""
    cloud = LegalEntity.objects.filter(business_unit__code="C").first()
    assert cloud is not None
    tokyo = City.objects.create(
        code="TYO", name="东京", name_en="Tokyo", jurisdiction="JP", time_zone="Asia/Tokyo"
    )
    jp = LegalEntity.objects.create(
        group=cloud.group,
        business_unit=cloud.business_unit,
        code="CTY",
        name="華夏クラウド株式会社",
        jurisdiction="JP",
        city=tokyo,
    )
    emp = Employee.objects.filter(legal_entity=cloud, user__isnull=True).order_by("pk")[5]
    Employee.objects.filter(pk=emp.pk).update(legal_entity=jp, work_city=tokyo)
    Contract.objects.create(
        employee=emp,
        legal_entity=jp,
        contract_type="open_ended",
        start_date=emp.hire_date,
        sequence=max(emp.contracts.values_list("sequence", flat=True), default=0) + 1,
    )
    emp.refresh_from_db()
    case = ho.open_case(
        emp,
        acting_user=users["admin"],
        exit_type=ExitType.RESIGNATION,
        last_working_day=dt.date(2026, 12, 31),
        reason="転職",
        submit=True,
    )
    from baton.handover import packs

    packs.install(acting_user=users["admin"])
    return ho.approve_case(case, acting_user=users["admin"])


def test_jp_certificate_states_only_the_requested_items(users: dict[str, Any]) -> None:
    case = _jp_case(users)
    admin = users["admin"]
    with pytest.raises(InvalidInput):
        actions.issue_certificate(case, acting_user=admin, items=[])
    with pytest.raises(InvalidInput):
        actions.issue_certificate(case, acting_user=admin, items=["wage"])  # no wage text
    cert = actions.issue_certificate(case, acting_user=admin, items=["period", "position"])
    assert cert.kind == CertificateKind.JP_TAISHOKU
    assert set(cert.facts) == {"name", "employer", "number", "issue_date", "period", "position"}
    text = "\n".join(pdf_lines(actions.read_certificate_pdf(cert, acting_user=admin)))
    assert "退職証明書" in text and "使用期間" in text and "その事業における地位" in text
    for absent in ("賃金", "退職の事由", "業務の種類", "転職"):
        assert absent not in text
    assert cert.number.startswith("HX-CTY-2026-")


# ---------------------------------------------------------------- downloads


def test_only_hr_and_the_leaver_download(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any
) -> None:
    cert = actions.issue_certificate(approved_case, acting_user=users["hrbp.cloud"])
    url = f"/compliance/certificates/{cert.pk}/download/"
    for name in ("hrbp.cloud", "admin", "employee"):
        response = client_as(name).get(url)
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/pdf"
        assert hashlib.sha256(response.content).hexdigest() == cert.pdf_sha256
        assert cert.number in response["Content-Disposition"]
    for name in ("head.rd", "finance", "auditor", "it", "receiver", "hrbp.devices"):
        assert client_as(name).get(url).status_code == 404, name
    assert client_as(None).get(url).status_code == 302  # to the sign-in page
    assert _entries(E.CERTIFICATE_DOWNLOADED, cert) == 3

    # The page: HR and the leaver see it (the leaver without the HR forms); others do not.
    page = f"/compliance/cases/{approved_case.pk}/certificate/"
    leaver = client_as("employee").get(page)
    assert leaver.status_code == 200 and url in leaver.content.decode()
    assert "/certificate/revoke/" not in leaver.content.decode()
    assert client_as("employee").post(page + "revoke/", {}).status_code == 403
    assert client_as("head.rd").get(page).status_code == 403
    assert client_as("hrbp.cloud").get(page).status_code == 200


def test_certificate_page_query_count(
    users: dict[str, Any],
    approved_case: ExitCase,
    client_as: Any,
    django_assert_max_num_queries: Any,
) -> None:
    actions.issue_certificate(approved_case, acting_user=users["hrbp.cloud"])
    hr = client_as("hrbp.cloud")
    page = f"/compliance/cases/{approved_case.pk}/certificate/"
    hr.get(page)
    with django_assert_max_num_queries(20):
        assert hr.get(page).status_code == 200


# ---------------------------------------------------------------- public verification


def _code_of(cert: Certificate, user: Any) -> str:
    lines = pdf_lines(actions.read_certificate_pdf(cert, acting_user=user))
    url = next(line for line in lines if "/verify/" in line)
    return url.rstrip("/").rsplit("/", 1)[1]


def test_verification_without_login(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    cert = actions.issue_certificate(approved_case, acting_user=hr)
    code = _code_of(cert, hr)
    assert len(code) == docs.CODE_LENGTH and docs.code_hash(code) == cert.code_hash
    anonymous = client_as(None)

    response = anonymous.get(f"/verify/{code}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "verify-genuine" in body and cert.number in body
    assert approved_case.legal_entity.name in body
    name = approved_case.employee.name
    assert docs.mask_name(name) in body and name not in body
    assert approved_case.employee.position.title in body
    assert cert.facts["contract_term"] not in body  # only what is needed to match the paper
    assert cert.facts["years_of_service"] not in body
    # Typed by hand: lower case, grouped with dashes.
    grouped = docs.grouped(code).lower()
    assert anonymous.get(f"/verify/{grouped}/").status_code == 200
    cert.refresh_from_db()
    assert cert.verifications == 2
    assert _entries(E.CERTIFICATE_VERIFIED, cert) == 1  # one audit entry per day

    actions.revoke_certificate(cert, acting_user=hr, reason="岗位名称有误")
    response = anonymous.get(f"/verify/{code}/")
    assert response.status_code == 200 and "verify-revoked" in response.content.decode()

    assert anonymous.get("/verify/ABCDEFGHJKMNPQRS/").status_code == 404
    assert anonymous.get("/verify/short/").status_code == 404


def test_a_submitted_resignation_gets_its_certificate_without_waiting_for_approval(
    users: dict[str, Any],
) -> None:
    """LCL 37: a resignation needs no approval; the certificate never waits for one."""
    from baton.handover import actions as ho
    from baton.handover import packs
    from baton.org.models import Employee

    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(user=users["employee"])
    case = ho.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        submit=True,
    )
    assert case.state == "submitted"
    cert = actions.issue_certificate(case, acting_user=users["hrbp.cloud"])
    assert cert.number and cert.dated == dt.date(2026, 12, 31)
