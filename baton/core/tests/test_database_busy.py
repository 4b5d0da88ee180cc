"""On SQLite one writer holds the database at a time (a large import's commit, for minutes):
everyone else's write is answered "busy, retry" (503 + Retry-After, translated), never a 500."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import translation

from baton import urls
from baton.core.views import server_error


def _locked_error(tmp_path: Path) -> OperationalError:
    """The error a second writer really gets from SQLite while the first holds the lock."""
    path = tmp_path / "busy.sqlite3"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")
    second = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        second.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        return OperationalError(*exc.args)  # as Django's wrapper re-raises it
    finally:
        first.execute("ROLLBACK")
        first.close()
        second.close()
    raise AssertionError("the second writer was not refused")


@pytest.mark.smoke
def test_a_write_refused_by_a_locked_database_is_503_retry(tmp_path: Path) -> None:
    assert urls.handler500 is server_error
    error = _locked_error(tmp_path)
    assert "locked" in str(error)
    rf = RequestFactory()
    with translation.override("zh-hans"):
        try:
            raise error
        except OperationalError:
            page = server_error(rf.post("/login/"))
            api = server_error(rf.post("/api/access/tokens"))
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "稍后" in page.content.decode()
    assert api.status_code == 503 and api["Retry-After"] == "5"
    body = json.loads(api.content)
    assert set(body) == {"detail", "errors"} and "稍后" in body["detail"]


@pytest.mark.smoke
def test_any_other_error_stays_a_500(tmp_path: Path) -> None:
    rf = RequestFactory()
    try:
        raise OperationalError("no such table: t")
    except OperationalError:
        assert server_error(rf.get("/")).status_code == 500
