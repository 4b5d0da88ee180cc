"""Background tasks for integrations (run by `baton worker`)."""

from __future__ import annotations

from typing import Any

from django.tasks import task


@task()
def deliver_webhooks() -> dict[str, Any]:
    """Fan the outbox out and deliver what is ready. Safe to run any number of times at once."""
    from baton.integrations.webhooks import deliver

    return deliver()


@task()
def emit_overdue_events() -> int:
    """Publish task.overdue for tasks that became overdue (once per task and due date)."""
    from baton.integrations.overdue import emit_overdue

    return emit_overdue()


@task()
def run_revocations() -> dict[str, int]:
    """Revoke the access that is due and delete accounts past their grace period. Safe to run
    any number of times at once (rows are claimed)."""
    from baton.integrations.revocation import run

    return run()


@task()
def run_pull(pull_id: int) -> str:
    """Pull a leaver's business records from one system (safe to run twice: the pull row is
    claimed; a finished or running one is left alone)."""
    from baton.integrations.business import run_pull as run

    return run(pull_id)


@task()
def sweep_pulls() -> int:
    """Enqueue pulls that are due but were never picked up (a lost enqueue, a killed worker)."""
    from baton.integrations.business import sweep

    return sweep()
