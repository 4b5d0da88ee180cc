"""Fixtures for the browser tests: one headless Debian Chromium per module, driven by Playwright
against pytest-django's live server.

`live_server` makes every test transactional, so the database is flushed after each one; the
`demo_data` fixture reloads the demo at the start of the next test, and the `browser` fixture
reloads it once more at the end of the module so later (non-transactional) tests in the same
worker find it in place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from baton.org.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
CSP_MESSAGE = re.compile(r"content[- ]security[- ]policy", re.IGNORECASE)


@dataclass
class Tab:
    """A page in its own browser context (own cookies), with what its console reported."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        """Sign in through the real login form."""
        self.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("form:not(.lang-switch) button[type=submit]")
        assert not self.page.url.rstrip("/").endswith("/login"), (
            f"sign-in as {username} failed: {self.page.url}"
        )

    def html_lang(self) -> str:
        return self.page.evaluate("document.documentElement.lang")

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors + self.page_errors if CSP_MESSAGE.search(m)]


@pytest.fixture(scope="module")
def browser(django_db_blocker: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which would make
    # Django refuse ORM calls from the test (SynchronousOnlyOperation). The ORM is only used
    # synchronously here, so that check is lifted while the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
        from baton.conftest import load_demo

        with django_db_blocker.unblock():
            load_demo()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


OWN_STATIC = ("baton/baton.css", "baton/baton.js")


def own_static_missing() -> list[str]:
    """Baton's own stylesheet and script that the static-files finders cannot find."""
    from django.contrib.staticfiles import finders

    return [p for p in OWN_STATIC if not finders.find(p)]


@pytest.fixture
def open_tab(browser: Any, live_server: Any, demo_data: None) -> Iterator[Callable[..., Tab]]:
    """open_tab(locale="zh-CN", viewport=None) -> a fresh Tab on the live server."""
    contexts: list[Any] = []

    def make(locale: str = "zh-CN", viewport: dict[str, int] | None = None) -> Tab:
        options: dict[str, Any] = {"locale": locale}
        if viewport:
            options["viewport"] = viewport
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = Tab(context.new_page(), live_server.url)
        tab.page.on(
            "console",
            lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        tab.page.on("pageerror", lambda exc: tab.page_errors.append(str(exc)))
        return tab

    yield make
    for context in contexts:
        context.close()
