"""Writers in separate connections, committing for real: one unbroken chain, and a verify that
runs while they write does not cry tampering."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead
from baton.org.models import City

pytestmark = [pytest.mark.xdist_group("processes"), pytest.mark.django_db(transaction=True)]


def _in_thread(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_concurrent_writers_form_one_unbroken_chain() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises whole-database writes; the head row lock is PostgreSQL's")
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()  # both writers race to create the head, too
    city = City.objects.create(code="CW", name="并发")
    per_writer, barrier = 30, threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(tag: str) -> Callable[[], None]:
        def write() -> None:
            barrier.wait(timeout=10)
            for i in range(per_writer // 3):
                with transaction.atomic():
                    trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=city,
                                 extra={"w": tag, "i": 3 * i})  # fmt: skip
                with transaction.atomic():
                    trail.record_many(
                        [
                            trail.Change(AuditEvent.CITY_UPDATED, city, extra={"w": tag, "i": j})
                            for j in (3 * i + 1, 3 * i + 2)
                        ],
                        actor=None,
                    )

        return write

    threads = [_in_thread(writer(tag), errors) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert trail.verify() == trail.VerifyResult(2 * per_writer, True)
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.id for e in entries] == list(range(1, 2 * per_writer + 1))
    # Each writer's entries are all there, in the order it wrote them.
    for tag in "ab":
        mine = [e.data["extra"]["i"] for e in entries if e.data["extra"]["w"] == tag]
        assert mine == list(range(per_writer))
    assert AuditHead.objects.get().last_id == 2 * per_writer


def test_verify_during_a_write_is_not_a_false_alarm() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a second connection writing while the first reads")
    city = City.objects.create(code="CV", name="校验")
    for i in range(3):
        with transaction.atomic():
            trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=city, extra={"i": i})
    errors: list[BaseException] = []
    state = {"walked": False, "written": False}

    def write() -> None:
        with transaction.atomic():
            trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=city, extra={"late": True})

    def commit_a_write_before_the_final_head_read(
        execute: Any, sql: str, params: Any, many: bool, ctx: Any
    ) -> Any:
        # The worst moment: the walk has read every entry, the head has not been read since.
        if "audit_audithead" in sql and state["walked"] and not state["written"]:
            state["written"] = True
            t = _in_thread(write, errors)
            t.start()
            t.join(timeout=30)
        if "audit_auditentry" in sql:
            state["walked"] = True
        return execute(sql, params, many, ctx)

    before = AuditHead.objects.get().last_id
    with connection.execute_wrapper(commit_a_write_before_the_final_head_read):
        result = trail.verify()
    assert state["written"] and not errors, errors
    assert result == trail.VerifyResult(before, True)
    assert trail.verify() == trail.VerifyResult(before + 1, True)
