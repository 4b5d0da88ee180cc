"""Webhook signing secrets: the current one and, during a rotation, the previous one until
its end (`baton.core.sealed` keeps them encrypted on the subscription)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from baton.core.sealed import unseal
from baton.integrations.models import Subscription


def active_secrets(sub: Subscription) -> list[str]:
    data = unseal(sub)
    found = [data["current"]] if data.get("current") else []
    until = data.get("previous_until")
    if data.get("previous") and until and dt.datetime.fromisoformat(until) > timezone.now():
        found.append(data["previous"])
    return found
