"""The deployed shape: two web processes and two workers sharing one PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

pytestmark = [pytest.mark.xdist_group("processes")]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _db_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def processes(transactional_db: Any, demo_data: None) -> Iterator[list[int]]:
    if connection.vendor != "postgresql":
        pytest.skip("the multi-process shape is tested on PostgreSQL")
    env = {**os.environ, "DATABASE_URL": _db_url(), "BATON_LOG_LEVEL": "WARNING"}
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(  # noqa: S603 — our own binaries from the venv
            [
                str(BIN / "gunicorn"),
                "baton.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "1",
                "--timeout",
                "60",
            ],
            env=env,
        )
        for port in ports
    ] + [
        subprocess.Popen([str(BIN / "baton"), "worker", "--interval", "0.2"], env=env)  # noqa: S603
        for _ in range(2)
    ]
    try:
        yield ports
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def _wait(predicate: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out; last: {last!r}")


def test_two_web_and_two_workers_share_the_database(processes: list[int]) -> None:
    from django_tasks_db.models import DBTaskResult

    from baton.audit.tasks import verify_audit_chain

    for port in processes:
        _wait(
            lambda p=port: (
                httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=5).json()["workers"] == 2
            )
        )
    # Either web process serves the same data (stateless web tier).
    for port in processes:
        assert httpx.get(f"http://127.0.0.1:{port}/login/", timeout=5).status_code == 200
    results = [verify_audit_chain.enqueue() for _ in range(12)]
    ids = [str(r.id) for r in results]

    def all_done() -> bool:
        return DBTaskResult.objects.filter(id__in=ids, status="SUCCESSFUL").count() == len(ids)

    _wait(all_done)
    rows = DBTaskResult.objects.filter(id__in=ids)
    assert all(r.return_value["ok"] for r in rows)
    # Each task ran exactly once, each on one worker.
    assert all(len(r.worker_ids) == 1 for r in rows)
