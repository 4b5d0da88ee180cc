"""Background jobs for the audit trail."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from baton.audit import trail


@task()
def verify_audit_chain() -> dict[str, Any]:
    """Walk the whole chain (read-only, safe to run any number of times); the result is kept
    with the task so operators can schedule it and read the outcome."""
    result = trail.verify()
    return {
        "ok": result.ok,
        "checked": result.checked,
        "broken_id": result.broken_id,
        "reason": result.reason,
    }
