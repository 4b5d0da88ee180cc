"""End to end in a real browser (headless Debian Chromium via Playwright) against the live
server: sign-in, language, scoping of the people list, HTMX search, CSP and the phone layout.

Assertions rest on `<html lang>` and on data (business-unit and people names), not on
translated labels, so they hold whatever state the translation catalogue is in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.db.models import Q
from django.urls import reverse

from baton.access.models import User
from baton.core.tests import browser_fixtures
from baton.core.tests.browser_fixtures import Tab, own_static_missing
from baton.org.models import Employee

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# The fixtures, visible to pytest in this module (assigned rather than imported by name so that
# the test parameters do not read as redefinitions).
browser = browser_fixtures.browser
open_tab = browser_fixtures.open_tab

DEVICES, CLOUD, PRECISION = "智能终端事业部", "云软件事业部", "精密制造事业部"
PAGE_SIZE = 50
ROWS = "#employee-table tbody tr:has(td.mono)"  # one per person (the empty row has no number)
EMPTY_ROW = "#employee-table tbody td[colspan]"
BU_COLUMN = 5  # 1-based: number, name, department, position, business unit, status


def rows(tab: Tab) -> int:
    return tab.page.locator(ROWS).count()


def column(tab: Tab, n: int) -> list[str]:
    return [t.strip() for t in tab.page.locator(f"{ROWS} td:nth-child({n})").all_inner_texts()]


def wait_rows(tab: Tab, expected: int, bu: str | None = None) -> None:
    """Wait until the table shows `expected` people (all of business unit `bu`, if given)."""
    tab.page.wait_for_function(
        """([sel, n, col, bu]) => {
            const trs = [...document.querySelectorAll(sel)];
            return trs.length === n
                && (bu === null || trs.every(tr => tr.children[col - 1].textContent.trim() === bu));
        }""",
        arg=[ROWS, expected, BU_COLUMN, bu],
    )


def assert_no_csp_violations(tab: Tab) -> None:
    assert tab.csp_violations() == [], tab.csp_violations()


def nav_paths(tab: Tab) -> list[str]:
    hrefs = tab.page.locator("nav.mainnav a").evaluate_all("els => els.map(a => a.pathname)")
    return list(hrefs)


def test_admin_signs_in_in_chinese_and_searches_with_htmx(open_tab: Any) -> None:
    tab = open_tab()
    tab.login("admin")
    assert tab.html_lang() == "zh-hans"

    response = tab.goto(reverse("org:employees"))
    assert response.status == 200
    assert tab.html_lang() == "zh-hans"
    total = Employee.objects.count()
    assert total > PAGE_SIZE
    assert rows(tab) == PAGE_SIZE

    # The whole group is in scope: each business unit's filter shows that unit's people.
    page = tab.page
    for bu in (DEVICES, CLOUD, PRECISION):
        expected = Employee.objects.filter(business_unit__name=bu).count()
        assert expected > 0
        page.select_option("#bu", label=bu)
        wait_rows(tab, min(expected, PAGE_SIZE), bu)
    page.select_option("#bu", value="")
    wait_rows(tab, PAGE_SIZE)
    assert {DEVICES, CLOUD, PRECISION} >= set(column(tab, BU_COLUMN))

    # Search swaps the table in place (no page load) and pushes the query into the URL.
    htmx_requests: list[str] = []
    page.on(
        "request",
        lambda r: htmx_requests.append(r.url) if r.headers.get("hx-request") == "true" else None,
    )
    page.evaluate("window.__sameDocument = true")
    name = column(tab, 2)[3]
    expected = Employee.objects.filter(
        Q(name__startswith=name) | Q(employee_number__startswith=name) | Q(email__istartswith=name)
    ).count()
    assert 0 < expected < PAGE_SIZE
    page.fill("#q", name)
    page.wait_for_url(lambda url: "q=" in url)
    wait_rows(tab, expected)
    assert all(n.startswith(name) for n in column(tab, 2))
    assert parse_qs(urlparse(page.url).query)["q"] == [name]
    assert page.evaluate("window.__sameDocument") is True, "the search reloaded the page"
    assert htmx_requests, "the search did not go through htmx"
    assert_no_csp_violations(tab)


def test_employee_sees_only_themselves(open_tab: Any) -> None:
    me = User.objects.select_related("employee").get(username="employee").employee
    assert me is not None
    other = Employee.objects.exclude(pk=me.pk).order_by("pk").first()
    assert other is not None

    tab = open_tab()
    tab.login("employee")
    assert tab.html_lang() == "zh-hans"
    assert tab.goto(reverse("org:employees")).status == 200
    assert rows(tab) == 1
    assert column(tab, 2) == [me.name]

    assert tab.goto(reverse("org:employee", args=[me.pk])).status == 200
    response = tab.goto(reverse("org:employee", args=[other.pk]))
    assert response.status == 404
    assert other.name not in tab.page.content()

    tab.goto(reverse("home"))
    paths = nav_paths(tab)
    assert reverse("org:employees") in paths
    for hidden in ("audit:entries", "org:structure", "access:users"):
        assert reverse(hidden) not in paths, (hidden, paths)
    assert_no_csp_violations(tab)


def test_hrbp_sees_only_their_business_unit(open_tab: Any) -> None:
    cloud = Employee.objects.filter(business_unit__name=CLOUD).count()
    assert cloud > 0
    outsider = Employee.objects.filter(business_unit__name=DEVICES).order_by("pk").first()
    assert outsider is not None

    tab = open_tab()
    tab.login("hrbp.cloud")
    assert tab.goto(reverse("org:employees")).status == 200
    assert rows(tab) == min(cloud, PAGE_SIZE)
    assert set(column(tab, BU_COLUMN)) == {CLOUD}
    assert DEVICES not in tab.page.inner_text("#employee-table")

    # Filtering on another unit finds nobody rather than leaking its people.
    tab.page.select_option("#bu", label=DEVICES)
    tab.page.wait_for_selector(EMPTY_ROW)
    assert rows(tab) == 0
    assert tab.goto(reverse("org:employee", args=[outsider.pk])).status == 404
    assert_no_csp_violations(tab)


def test_pages_run_under_the_csp_without_violations(open_tab: Any) -> None:
    someone = Employee.objects.order_by("pk").first()
    assert someone is not None
    tab = open_tab()
    tab.goto(reverse("login"))
    assert tab.page.evaluate("typeof window.htmx") == "object"
    tab.login("admin")
    for name, args in [
        ("home", []),
        ("org:employees", []),
        ("org:employee", [someone.pk]),
        ("org:structure", []),
        ("audit:entries", []),
        ("access:users", []),
        ("access:preferences", []),
    ]:
        response = tab.goto(reverse(name, args=args))
        assert response.status == 200, name
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self' 'nonce-" in csp, (name, csp)
        assert tab.page.evaluate("typeof window.htmx") == "object", name
    assert_no_csp_violations(tab)
    assert tab.console_errors == []
    assert tab.page_errors == []


def test_own_static_files_are_found() -> None:
    # What runserver, the live server and collectstatic all go by.
    assert own_static_missing() == []


def test_phone_layout_has_no_horizontal_overflow(open_tab: Any) -> None:
    tab = open_tab(viewport={"width": 375, "height": 740})
    tab.login("admin")
    someone = Employee.objects.order_by("pk").first()
    assert someone is not None
    for path in (
        reverse("org:employees"),
        reverse("home"),
        reverse("org:employee", args=[someone.pk]),
    ):
        tab.goto(path)
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375 + 2, (path, width)
    tab.goto(reverse("org:employees"))
    assert rows(tab) == PAGE_SIZE
    # The menu folds behind the burger on a phone.
    nav = tab.page.locator("nav.mainnav")
    assert not nav.is_visible()
    tab.page.click("label.nav-burger")
    assert nav.is_visible()
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 375 + 2
    assert_no_csp_violations(tab)


def test_login_page_language_switch(open_tab: Any) -> None:
    tab = open_tab()
    tab.goto(reverse("login"))
    assert tab.html_lang() == "zh-hans"
    with tab.page.expect_navigation():
        tab.page.click(".lang-switch button[value=en]")
    assert urlparse(tab.page.url).path == reverse("login")
    assert tab.html_lang() == "en"
    assert tab.page.locator(".lang-switch button[value=zh-hans]").count() == 1
    # The signed-in user's own language (zh-hans) then wins over the session's choice.
    tab.login("admin")
    assert tab.html_lang() == "zh-hans"
    assert_no_csp_violations(tab)
