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
