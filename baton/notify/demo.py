"""Demo notification settings: the default reminder rules and an email channel that delivers
to the local mail catcher `make demo` runs (`baton mailcatcher`, 127.0.0.1:1025)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from baton.access.models import User
from baton.core.workdays import add_working_days
from baton.notify import actions
from baton.notify.models import Channel, Family

MAIL_CATCHER_PORT = 1025


def setup(*, log: Callable[[str], None] = print) -> None:
    admin = User.objects.get(username="admin")
    actions.ensure_default_rules(acting_user=admin)
    if not Channel.objects.filter(family=Family.EMAIL, business_unit=None).exists():
        actions.create_channel(
            {
                "name": "演示邮件（本地收信器）",
                "kind": "email",
                # The mail catcher listens on 127.0.0.1: the administrator allows it.
                "internal": True,
                "settings": {
                    "host": "127.0.0.1",
                    "port": MAIL_CATCHER_PORT,
                    "from_email": "华夏智造 HR <hr@huaxia.example>",
                },
            },
            {},
            acting_user=admin,
        )
    log(f"notifications: default reminder rules; email to 127.0.0.1:{MAIL_CATCHER_PORT}")


def suggested_now() -> str:
    """A moment at which the demo's cases have reminders due: six working days ahead, 10:00."""
    day = add_working_days(timezone.localdate(), 6)
    return dt.datetime.combine(day, dt.time(10)).isoformat(timespec="minutes")
