"""Done-when of issue 7: the demo data exports and re-imports into an empty database with
identical results — run as an operator would, with `baton` commands against two fresh
databases on the backend the suite runs on (PostgreSQL in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

BATON = str(Path(sys.executable).parent / "baton")


@pytest.fixture
def fresh_urls(tmp_path: Path, django_db_blocker: object) -> Iterator[tuple[str, str]]:
    """Two empty databases: files on SQLite, databases on the suite's PostgreSQL server."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        vendor = connection.vendor
        params = connection.settings_dict
    if vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    import psycopg

    names = [f"baton_rt_{uuid.uuid4().hex[:8]}_{s}" for s in "ab"]
    dsn = {
        "host": params["HOST"],
        "port": params["PORT"],
        "user": params["USER"],
        "dbname": "postgres",
    }
    if params.get("PASSWORD"):
        dsn["password"] = params["PASSWORD"]
    with psycopg.connect(**dsn, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    try:
        yield tuple(f"postgres://{auth}@{params['HOST']}:{params['PORT']}/{n}" for n in names)  # type: ignore[misc]
    finally:
        with psycopg.connect(**dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def baton(url: str, data_dir: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BATON_DATA_DIR": str(data_dir),
        "BATON_SETUP_PASSWORD": "Round-trip-password-1",
    }
    done = subprocess.run(  # noqa: S603 — our own command
        [BATON, *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.endswith(".csv")}


@pytest.mark.smoke
def test_demo_exports_and_reimports_identically(
    tmp_path: Path, fresh_urls: tuple[str, str]
) -> None:
    a, b = fresh_urls
    baton(a, tmp_path / "a", "migrate", "-v0")
    baton(
        a,
        tmp_path / "a",
        "shell",
        "-c",
        "from baton.org import demo; demo.build(150, seed=11, log=lambda m: None)",
    )
    baton(a, tmp_path / "a", "export", "archive", str(tmp_path / "a.zip"), "--as", "admin")

    baton(b, tmp_path / "b", "migrate", "-v0")
    baton(b, tmp_path / "b", "setup", "admin")
    out = baton(
        b,
        tmp_path / "b",
        "import",
        "archive",
        str(tmp_path / "a.zip"),
        "--as",
        "admin",
        "--commit",
        "--quiet",
    )
    assert '"status": "committed"' in out
    baton(b, tmp_path / "b", "export", "archive", str(tmp_path / "b.zip"), "--as", "admin")

    first, second = members(tmp_path / "a.zip"), members(tmp_path / "b.zip")
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name
    # The demo has rows of every kind an archive carries.
    empty = [n for n, data in first.items() if data.count(b"\n") < 2]
    assert empty == [], empty

    # Importing the same archive again changes nothing.
    out = baton(
        b,
        tmp_path / "b",
        "import",
        "archive",
        str(tmp_path / "a.zip"),
        "--as",
        "admin",
        "--commit",
        "--quiet",
    )
    assert '"created"' not in out and '"updated"' not in out
