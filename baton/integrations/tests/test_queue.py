"""The hand-offs to the workers (`baton.integrations.queue`): the code the tasks run enqueues
more work without importing `tasks.py` (which imports it), so every task must be registered
when the app is ready, and a kick asked for many times in a transaction enqueues once."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import pytest
from django.db import transaction
from django.tasks import Task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from baton.integrations import queue, tasks

pytestmark = pytest.mark.django_db


def test_every_integrations_task_is_registered_for_the_hand_offs() -> None:
    defined = {name for name, obj in inspect.getmembers(tasks) if isinstance(obj, Task)}
    assert defined == set(queue._TASKS)
    # Each hand-off names a registered task (a typo would only fail in a worker).
    for name, _obj in inspect.getmembers(queue, inspect.isfunction):
        if name.startswith("_") or name == "provide" or name.endswith("_on_commit"):
            continue
        assert name in defined, name


def test_a_kick_asked_for_many_times_enqueues_once_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = DBTaskResult.objects.filter(task_path__endswith="tasks.deliver_webhooks").count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for _ in range(3):
            queue.deliver_webhooks_on_commit()
            queue.run_revocations_on_commit()
        assert not DBTaskResult.objects.filter(task_path__endswith="tasks.run_revocations").exists()
    assert callbacks == [queue.deliver_webhooks, queue.run_revocations]
    queued = DBTaskResult.objects.filter(task_path__endswith="tasks.deliver_webhooks").count()
    assert queued == before + 1
    revocations = DBTaskResult.objects.filter(task_path__endswith="tasks.run_revocations")
    assert revocations.count() == 1


def test_a_pull_retry_is_enqueued_to_run_later() -> None:
    later = timezone.now() + dt.timedelta(hours=1)
    queue.run_pull(4242, run_after=later)
    row = DBTaskResult.objects.filter(task_path__endswith="tasks.run_pull").latest("enqueued_at")
    assert row.args_kwargs["args"] == [4242]
    assert row.run_after == later
