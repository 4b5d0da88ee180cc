"""Hand-offs to the workers for the code the integration tasks themselves run.

Webhook delivery, revocation and business pulls start more work from inside a worker: any
audited change kicks webhook delivery (the outbox), a pull retries itself, a run out of time
carries on in a new task. `tasks.py` imports that code, so it cannot import `tasks.py` back:
instead the app registers its tasks here when it is ready (`IntegrationsConfig.ready`) and
the code enqueues through these named helpers (arguments as the tasks take them) — the same
inversion as `trail.listeners`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.tasks import Task, task_backends

_TASKS: dict[str, Task] = {}


def provide(*tasks: Task) -> None:
    """Register the app's tasks (called once, when the app is ready)."""
    for t in tasks:
        _TASKS[t.name] = t


def _task(name: str) -> Task:
    try:
        return _TASKS[name]
    except KeyError:  # pragma: no cover — a wiring error, not a runtime condition
        raise RuntimeError(f"integrations task {name!r} is not registered") from None


def _once_on_commit(kick: Any) -> None:
    """Run `kick` when the transaction commits — once per transaction, however often it is
    asked for (the workers' clock also sweeps, so nothing waits for ever if this is missed)."""
    if not connection.in_atomic_block:
        kick()
        return
    # Entries are (savepoint ids, callback, robust).
    if any(entry[1] is kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(kick)


def deliver_webhooks() -> None:
    _task("deliver_webhooks").enqueue()


def deliver_webhooks_on_commit() -> None:
    _once_on_commit(deliver_webhooks)


def run_revocations() -> None:
    _task("run_revocations").enqueue()


def run_revocations_on_commit() -> None:
    _once_on_commit(run_revocations)


def run_pull(pull_id: int, *, run_after: dt.datetime | None = None) -> None:
    task = _task("run_pull")
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(pull_id)


def sweep_pulls() -> None:
    _task("sweep_pulls").enqueue()


def hand_over_customers(case_id: int, user_id: int | None) -> None:
    _task("hand_over_customers").enqueue(case_id, user_id)


def check_customer_transfers(case_id: int, *, run_after: dt.datetime) -> None:
    """Read a transfer's outcome later — where the backend can defer a task at all."""
    task = _task("check_customer_transfers")
    if task_backends[task.backend].supports_defer:
        task.using(run_after=run_after).enqueue(case_id)


def write_back_customers(case_id: int, as_of: str | None = None) -> None:
    _task("write_back_customers").enqueue(case_id, as_of)


def send_customer_letters(
    case_id: int, user_id: int, resend_before: str | None, item_ids: list[int] | None
) -> None:
    _task("send_customer_letters").enqueue(case_id, user_id, resend_before, item_ids)
