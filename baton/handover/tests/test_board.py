"""The progress board (scoping, filters, counts, bounded queries) and the unfinished-items
report (PDF and XLSX)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baton.core.tests import browser_fixtures
from baton.handover import actions, packs
from baton.handover.models import ChecklistTemplate, ExitCase, TaskState
from baton.org.models import Department, Employee

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date(2026, 12, 31)


@pytest.fixture
def installed(users: dict[str, Any]) -> None:
    packs.install(acting_user=users["admin"])


def _people(bu: str, n: int) -> list[Employee]:
    return list(
        Employee.objects.filter(business_unit__code=bu, status="active", manager__isnull=False)
        .exclude(user__isnull=False)
        .order_by("employee_number")[:n]
    )


def _open(users: dict[str, Any], employee: Employee, last_day: dt.date = LAST_DAY) -> ExitCase:
    case = actions.open_case(
        employee, acting_user=users["admin"], exit_type="resignation", last_working_day=last_day
    )
    return actions.approve_case(case, acting_user=users["admin"])


@pytest.fixture
def cases(users: dict[str, Any], installed: None) -> dict[str, ExitCase]:
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    mine = actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        submit=True,
    )
    mine = actions.approve_case(mine, acting_user=users["head.rd"])
    taken = {leaver.pk, users["head.rd"].employee_id, users["receiver"].employee_id}
    devices = _open(users, _people("D", 1)[0])
    today = timezone.localdate()
    late_person = (
        Employee.objects.filter(business_unit__code="C", status="active", manager__isnull=False)
        .exclude(pk__in=taken)
        .exclude(department__path__startswith=leaver.department.path)
        .order_by("employee_number")
        .first()
    )
    assert late_person is not None
    late = _open(users, late_person, today - dt.timedelta(days=10))
    soon_person = _people("D", 2)[1]
    soon = _open(users, soon_person, today + dt.timedelta(days=3))
    return {"mine": mine, "devices": devices, "late": late, "soon": soon}


def _link(case: ExitCase) -> str:
    return f'href="/handover/cases/{case.pk}/"'


def _board(client: Any, **params: Any) -> str:
    response = client.get("/handover/cases/", params)
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.mark.smoke
def test_board_is_scoped(client_as: Any, cases: dict[str, ExitCase]) -> None:
    mine, devices, late, soon = cases["mine"], cases["devices"], cases["late"], cases["soon"]
    page = _board(client_as("hrbp.devices"))
    assert _link(devices) in page and _link(soon) in page
    assert _link(mine) not in page and _link(late) not in page  # never a cloud-BU case
    # Not even when asking for the cloud BU or searching for the person.
    page = _board(
        client_as("hrbp.devices"), business_unit=mine.business_unit_id, state="all", due=""
    )
    assert _link(mine) not in page
    page = _board(client_as("hrbp.devices"), q=mine.employee.name)
    assert _link(mine) not in page
    page = _board(client_as("hrbp.cloud"))
    assert _link(mine) in page and _link(late) in page and _link(devices) not in page
    page = _board(client_as("admin"))
    assert all(_link(c) in page for c in cases.values())
    page = _board(client_as("head.rd"))
    assert _link(mine) in page and _link(late) not in page and _link(devices) not in page
    page = _board(client_as("employee"))
    assert _link(mine) in page and _link(late) not in page
    page = _board(client_as("receiver"))  # an employee role: only their own case, if any
    assert not any(_link(c) in page for c in cases.values())
    assert 'style="' not in page and "<script>" not in page


def test_board_filters(client_as: Any, cases: dict[str, ExitCase]) -> None:
    mine, devices, late, soon = cases["mine"], cases["devices"], cases["late"], cases["soon"]
    admin = client_as("admin")
    page = _board(admin, business_unit=devices.business_unit_id)
    assert _link(devices) in page and _link(soon) in page and _link(mine) not in page
    # Department: the whole subtree below the chosen department.
    top = Department.objects.get(pk=int(mine.department.path.strip("/").split("/")[0]))
    page = _board(admin, department=top.pk)
    assert _link(mine) in page and _link(devices) not in page
    page = _board(admin, department=mine.department_id)
    assert _link(mine) in page and _link(late) not in page
    # Search by name and by employee number.
    page = _board(admin, q=mine.employee.name)
    assert _link(mine) in page and _link(devices) not in page
    page = _board(admin, q=devices.employee.employee_number)
    assert _link(devices) in page and _link(mine) not in page
    # Due windows.
    page = _board(admin, due="7")
    assert _link(soon) in page and _link(mine) not in page and _link(late) not in page
    page = _board(admin, due="30")
    assert _link(soon) in page and _link(late) not in page
    page = _board(admin, due="overdue")
    assert _link(late) in page and _link(mine) not in page and _link(devices) not in page
    # States: open by default; stopped cases on request.
    actions.withdraw_case(devices, acting_user=client_user(admin), reason="留任")
    assert _link(devices) not in _board(admin)
    assert _link(devices) in _board(admin, state="withdrawn")
    page = _board(admin, state="all")
    assert _link(devices) in page and _link(mine) in page
    assert _link(mine) not in _board(admin, state="withdrawn")


def client_user(client: Any) -> Any:
    from baton.access.models import User

    return User.objects.get(pk=client.session["_auth_user_id"])


def test_board_counts_and_summary(
    client_as: Any, users: dict[str, Any], cases: dict[str, ExitCase]
) -> None:
    mine, late = cases["mine"], cases["late"]
    first = mine.tasks.order_by("sort").first()
    assert first is not None
    actions.waive_task(first, acting_user=users["hrbp.cloud"], reason="不适用")
    response = client_as("admin").get("/handover/cases/")
    rows = {c.pk: n for c, n in response.context["rows"]}
    total = mine.tasks.count()
    assert (rows[mine.pk].done, rows[mine.pk].pending, rows[mine.pk].overdue) == (1, total - 1, 0)
    today = timezone.localdate()
    expected_late = late.tasks.filter(due_date__lt=today).exclude(state=TaskState.WAIVED).count()
    assert expected_late > 0 and rows[late.pk].overdue == expected_late
    summary = response.context["summary"]
    # "late" left ten days ago; "soon" leaves in three days, so its early items are late too.
    assert rows[cases["soon"].pk].overdue > 0
    assert summary == {"open": 4, "leaving_soon": 1, "overdue": 2, "cleared": 0}
    all_states = client_as("admin").get("/handover/cases/", {"state": "all"})
    assert all_states.context["summary"] == summary  # the summary ignores state and due
    devices_summary = client_as("hrbp.devices").get("/handover/cases/").context["summary"]
    assert devices_summary == {"open": 2, "leaving_soon": 1, "overdue": 1, "cleared": 0}


def test_board_htmx_returns_only_the_table(client_as: Any, cases: dict[str, ExitCase]) -> None:
    response = client_as("admin").get(
        "/handover/cases/",
        {"q": cases["mine"].employee.name},
        headers={"HX-Request": "true", "HX-Target": "board-table"},
    )
    body = response.content.decode()
    assert "<html" not in body and "<form" not in body and _link(cases["mine"]) in body


def test_board_query_count_does_not_grow_with_the_cases_shown(
    client_as: Any, users: dict[str, Any], installed: None
) -> None:
    people = _people("C", 3) + _people("D", 3)
    for e in people[:2]:
        _open(users, e)
    client = client_as("admin")
    client.get("/handover/cases/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        response = client.get("/handover/cases/")
    assert len(response.context["rows"]) == 2
    for e in people[2:]:
        _open(users, e)
    with CaptureQueriesContext(connection) as more:
        response = client.get("/handover/cases/")
    assert len(response.context["rows"]) == 6
    assert len(more) == len(few), [q["sql"][:120] for q in more.captured_queries]
    # The task counts come from one grouped query over the page's cases.
    grouped = [q["sql"] for q in more.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and "handover_handovertask" in grouped[0]
    assert len(more) <= 12, [q["sql"][:120] for q in more.captured_queries]


# ---------------------------------------------------------------- report


def test_report_pdf_and_xlsx(
    client_as: Any, users: dict[str, Any], cases: dict[str, ExitCase]
) -> None:
    from openpyxl import load_workbook

    mine = cases["mine"]
    waived = mine.tasks.get(key="assets")
    actions.waive_task(waived, acting_user=users["hrbp.cloud"], reason="无设备")
    injected = actions.add_task(
        mine, {"title": '=HYPERLINK("http://x")', "category": "admin"}, acting_user=users["admin"]
    )
    hr = client_as("hrbp.cloud")

    response = hr.get(f"/handover/cases/{mine.pk}/report.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    sheet = wb.worksheets[0]
    values = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    open_titles = set(
        mine.tasks.exclude(state__in=["accepted", "waived"]).values_list("title", flat=True)
    )
    assert {t for t in open_titles if not t.startswith("=")} <= set(values)
    assert waived.title not in values
    assert '\'=HYPERLINK("http://x")' in values and injected.title not in values
    assert mine.employee.name in values and mine.employee.employee_number in values
    # The legal guard (LCL 50, 89), in English or Chinese numerals.
    assert any(("50" in v and "89" in v) or ("第五十条" in v and "第八十九条" in v) for v in values)
    history = list(wb.worksheets[1].iter_rows(values_only=True))[1:]
    assert history and all(row[3] for row in history)
    assert any(row[3] == str(users["head.rd"]) for row in history)  # who approved → created

    response = hr.get(f"/handover/cases/{mine.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_report_is_scoped(client_as: Any, cases: dict[str, ExitCase]) -> None:
    mine = cases["mine"]
    assert (
        client_as("hrbp.devices").get(f"/handover/cases/{mine.pk}/report.xlsx").status_code == 404
    )
    assert client_as("receiver").get(f"/handover/cases/{mine.pk}/report.xlsx").status_code == 404
    assert client_as("employee").get(f"/handover/cases/{mine.pk}/report.xlsx").status_code == 200
    assert client_as("admin").get("/handover/cases/999999/report.pdf").status_code == 404


# ---------------------------------------------------------------- in a real browser

browser = browser_fixtures.browser
open_tab = browser_fixtures.open_tab


BOARD_ROWS = "#board-table tbody tr:has(td.mono)"  # one per case (the empty row has none)


def _wait_rows(tab: Any, n: int) -> None:
    tab.page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[BOARD_ROWS, n]
    )


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_board_and_checklists_in_a_browser(open_tab: Any, users: dict[str, Any]) -> None:
    """HTMX filtering swaps only the table, the pages raise no CSP violation, and on a phone
    the page itself never scrolls sideways (wide tables scroll inside their frame)."""
    packs.install(acting_user=users["admin"])
    cloud, devices = _people("C", 1)[0], _people("D", 1)[0]
    for e in (cloud, devices):
        _open(users, e)
    tab = open_tab()
    tab.login("admin")
    assert tab.goto("/handover/cases/").status == 200
    _wait_rows(tab, 2)
    tab.page.fill("#q", devices.employee_number)
    _wait_rows(tab, 1)
    assert devices.name in tab.page.inner_text("#board-table")
    assert "q=" in tab.page.url  # the filter is in the address, so it can be shared
    tab.page.fill("#q", "")
    _wait_rows(tab, 2)
    tab.page.select_option("#bu", value=str(cloud.business_unit_id))
    _wait_rows(tab, 1)
    assert cloud.name in tab.page.inner_text("#board-table")
    template = ChecklistTemplate.objects.get(name="研发岗位交接清单")
    for path in (
        "/handover/checklists/",
        f"/handover/checklists/{template.pk}/",
        f"/handover/checklists/{template.pk}/items/new/",
        "/handover/knowledge/",
    ):
        assert tab.goto(path).status == 200, path
    assert tab.csp_violations() == [], tab.csp_violations()

    phone = open_tab(viewport={"width": 390, "height": 844})
    phone.login("admin")
    for path in ("/handover/cases/", f"/handover/checklists/{template.pk}/"):
        assert phone.goto(path).status == 200
        overflow = phone.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    assert phone.csp_violations() == []
