"""Shared fixtures. The demo group (small) is loaded once per test database; each test runs
in a transaction that is rolled back, so tests see the same data and cannot disturb each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from baton.access.models import User
from baton.org import demo
from baton.org.models import Group

DEMO_EMPLOYEES = 120
ROLES = [
    "admin",
    "hrbp.cloud",
    "hrbp.devices",
    "head.rd",
    "employee",
    "receiver",
    "it",
    "finance",
    "auditor",
]


def load_demo() -> None:
    if not Group.objects.exists():
        demo.build(DEMO_EMPLOYEES, seed=7, log=lambda _m: None)
        # A transactional test's flush also removed the installation's default rules.
        from baton.notify.actions import ensure_default_rules

        ensure_default_rules()


@pytest.fixture(scope="session", autouse=True)
def _data_dir_per_worker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Each test process has its own databases, so its own data directory too: files keyed by
    # a row id (an import's progress) must not meet another worker's row with the same id.
    from django.conf import settings

    before = settings.DATA_DIR
    settings.DATA_DIR = tmp_path_factory.mktemp("data")
    yield
    settings.DATA_DIR = before


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Any:
    # Actions called directly answer in English; requests switch to the user's language.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 is the production hasher (asserted in test_security); tests hash fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        load_demo()


@pytest.fixture
def demo_data(db: Any) -> None:
    """The demo group (reloaded if a transactional test flushed it)."""
    load_demo()


@pytest.fixture
def users(demo_data: None) -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=ROLES)}


@pytest.fixture
def client_as(users: dict[str, User]) -> Any:
    def make(username: str | None, **headers: str) -> Client:
        client = Client(headers={"host": "127.0.0.1", **headers})
        if username:
            client.force_login(users[username])
        return client

    return make


@pytest.fixture
def approved_case(users: dict[str, User]) -> Any:
    """The demo `employee` resigns with 31 Dec 2026 as the last day (built-in checklists
    installed) and `head.rd` approves: a case in handover with its tasks."""
    from baton.handover import actions, packs
    from baton.org.models import Employee

    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(user=users["employee"])
    case = actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        reason="职业发展",
        submit=True,
    )
    return actions.approve_case(case, acting_user=users["head.rd"])
