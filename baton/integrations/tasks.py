"""Background tasks for integrations (run by `baton worker`): thin wrappers over the actions
that do the work. Code that must start more work enqueues through `queue` (nothing imports this
module but the app config, which registers these tasks there, and the workers' clock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task

from baton.access.models import User
from baton.integrations import overdue, webhooks
from baton.integrations.actions import business, customers, letters, revocations


@task()
def deliver_webhooks() -> dict[str, Any]:
    """Fan the outbox out and deliver what is ready. Safe to run any number of times at once."""
    return webhooks.deliver()


@task()
def emit_overdue_events() -> int:
    """Publish task.overdue for tasks that became overdue (once per task and due date)."""
    return overdue.emit_overdue()


@task()
def run_revocations() -> dict[str, int]:
    """Revoke the access that is due and delete accounts past their grace period. Safe to run
    any number of times at once (rows are claimed)."""
    return revocations.run()


@task()
def run_pull(pull_id: int) -> str:
    """Pull a leaver's business records from one system (safe to run twice: the pull row is
    claimed; a finished or running one is left alone)."""
    return business.run_pull(pull_id)


@task()
def sweep_pulls() -> int:
    """Enqueue pulls that are due but were never picked up (a lost enqueue, a killed worker)."""
    return business.sweep()


@task()
def hand_over_customers(case_id: int, user_id: int | None) -> dict[str, Any]:
    """After a reassignment: write the new owners back, then send the letters due (as the user
    who reassigned). Safe to run twice."""
    return customers.hand_over(case_id, user_id)


@task()
def check_customer_transfers(case_id: int) -> dict[str, Any]:
    """A day after a WeCom transfer: how it ended."""
    return customers.refresh_transfers(case_id).as_dict()


@task()
def write_back_customers(case_id: int, as_of: str | None = None) -> dict[str, Any]:
    """Write a case's pending customers back (the clock's sweep, at the moment it swept).
    Safe to run twice."""
    now = dt.datetime.fromisoformat(as_of) if as_of else None
    return customers.write_back(case_id, now=now).as_dict()


@task()
def send_customer_letters(
    case_id: int, user_id: int, resend_before: str | None, item_ids: list[int] | None
) -> dict[str, Any]:
    """The letters asked for on the customers page or through the API (as the user who asked;
    a resend covers letters sent before the request). Safe to run twice."""
    user = User.objects.get(pk=user_id)
    before = dt.datetime.fromisoformat(resend_before) if resend_before else None
    return letters.send_letters(
        case_id, acting_user=user, resend_before=before, item_ids=item_ids
    ).as_dict()
