"""The UI runs the same actions as the API: forms parse, actions decide and audit."""

from __future__ import annotations

from typing import Any

import pytest

from baton.audit.models import AuditEntry
from baton.org.models import Department, Employee, LegalEntity, Position

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(demo_data: None) -> dict[str, Any]:
    dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    entity = LegalEntity.objects.get(code="CSH")
    assert dept is not None
    return {
        "name": "界面新人",
        "email": "",
        "phone": "",
        "legal_entity": entity.pk,
        "department": dept.pk,
        "position": Position.objects.get(code="ENG-QA").pk,
        "work_city": entity.city_id,
        "hire_date": "2026-04-01",
        "status": "probation",
        "manager_number": "",
    }


@pytest.mark.smoke
def test_hr_creates_an_employee_through_the_form(client_as: Any, form: dict[str, Any]) -> None:
    response = client_as("hrbp.cloud").post("/people/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    emp = Employee.objects.get(name="界面新人")
    assert response["Location"] == f"/people/{emp.pk}/"
    assert AuditEntry.objects.filter(subject_type="org.employee", subject_id=str(emp.pk)).exists()


def test_form_errors_are_shown_and_nothing_written(client_as: Any, form: dict[str, Any]) -> None:
    before = (Employee.objects.count(), AuditEntry.objects.count())
    response = client_as("admin").post(
        "/people/new/", {**form, "hire_date": "not a date", "manager_number": "NOPE"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errorlist' in page and "NOPE" in page
    assert (Employee.objects.count(), AuditEntry.objects.count()) == before


def test_hr_of_another_bu_cannot_create_here(client_as: Any, form: dict[str, Any]) -> None:
    response = client_as("hrbp.devices").post("/people/new/", form)
    assert response.status_code == 403
    assert not Employee.objects.filter(name="界面新人").exists()


def test_edit_changes_only_what_changed(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    client = client_as("admin")
    page = client.get(f"/people/{emp.pk}/edit/")
    bound = page.context["form"]
    data = {name: bound[name].value() for name in bound.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["phone"] = "13712345678"
    response = client.post(f"/people/{emp.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = AuditEntry.objects.latest("id")
    assert set(entry.data["changes"]) == {"phone"}


def test_employee_page_shows_records_only_to_those_allowed(
    client_as: Any, users: dict[str, Any]
) -> None:
    emp_id = users["employee"].employee_id
    assert "合同" in client_as("employee").get(f"/people/{emp_id}/").content.decode()
    it_page = client_as("it").get(f"/people/{emp_id}/").content.decode()
    assert "contract_type" not in it_page and "c-contract_type" not in it_page


def test_adding_a_contract_from_the_employee_page(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    response = client_as("hrbp.cloud").post(
        f"/people/{emp.pk}/contract/add/",
        {
            "c-legal_entity": emp.legal_entity_id,
            "c-contract_type": "open_ended",
            "c-start_date": "2026-01-01",
            "c-sequence": max(emp.contracts.values_list("sequence", flat=True), default=0) + 1,
        },
    )
    assert response.status_code == 302
    assert emp.contracts.filter(contract_type="open_ended", start_date="2026-01-01").exists()
    # The same number again is refused, naming the field (contract numbers are unique per person).
    again = client_as("hrbp.cloud").post(
        f"/people/{emp.pk}/contract/add/",
        {
            "c-legal_entity": emp.legal_entity_id,
            "c-contract_type": "fixed_term",
            "c-start_date": "2027-01-01",
            "c-sequence": emp.contracts.order_by("-sequence").values_list("sequence", flat=True)[0],
        },
    )
    assert again.status_code == 400


def test_structure_create_is_admin_only(client_as: Any) -> None:
    assert client_as("hrbp.cloud").get("/organisation/cities/new/").status_code == 403
    response = client_as("admin").post(
        "/organisation/cities/new/",
        {
            "code": "HZ",
            "name": "杭州",
            "name_en": "Hangzhou",
            "province": "浙江省",
            "jurisdiction": "CN",
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302


def test_unknown_kinds_are_404(client_as: Any, users: dict[str, Any]) -> None:
    client = client_as("admin")
    assert client.get("/organisation/nonsense/new/").status_code == 404
    assert client.post(f"/people/{users['employee'].employee_id}/nonsense/add/").status_code == 404


def test_audit_viewer_filters_and_exports(client_as: Any, users: dict[str, Any]) -> None:
    client = client_as("auditor")
    page = client.get("/audit/?event=199")
    assert page.status_code == 200
    csv = b"".join(client.get("/audit/export.csv").streaming_content).decode("utf-8-sig")
    header = csv.splitlines()[0]
    assert "Entry hash" in header or "条目哈希" in header or "哈希" in header
    xlsx = client.get("/audit/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_agreement_document_upload_and_audited_download(
    client_as: Any, users: dict[str, Any]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    emp = Employee.objects.get(pk=users["employee"].employee_id)
    pdf = SimpleUploadedFile("nda.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client_as("hrbp.cloud").post(
        f"/people/{emp.pk}/agreement/add/",
        {"a-agreement_type": "nda", "a-signed_on": "2026-01-10", "a-document": pdf},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = emp.agreements.get(signed_on="2026-01-10")
    assert len(agreement.document_sha256) == 64
    download = client_as("employee").get(f"/agreements/{agreement.pk}/document/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert AuditEntry.objects.latest("id").event_type == 192
    assert client_as("it").get(f"/agreements/{agreement.pk}/document/").status_code == 404


def test_wrong_document_type_is_refused(client_as: Any, users: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    emp = Employee.objects.get(pk=users["employee"].employee_id)
    exe = SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")
    response = client_as("hrbp.cloud").post(
        f"/people/{emp.pk}/agreement/add/",
        {"a-agreement_type": "nda", "a-signed_on": "2026-01-11", "a-document": exe},
    )
    assert response.status_code == 400
    assert not emp.agreements.filter(signed_on="2026-01-11").exists()


def test_group_number_pattern_is_validated(client_as: Any) -> None:
    client = client_as("admin")
    page = client.post(
        "/organisation/group/", {"name": "华夏智造集团", "employee_number_pattern": "{group}{nope}"}
    )
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    ok = client.post(
        "/organisation/group/",
        {"name": "华夏智造集团", "employee_number_pattern": "{group}-{yyyy}-{seq:06}"},
    )
    assert ok.status_code == 302
