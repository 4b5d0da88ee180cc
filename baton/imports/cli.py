"""Shared by the `baton import` and `baton export` commands: who acts, and a progress line."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from baton.access.models import Role, User


def acting_user(username: str | None) -> Any:
    if username:
        try:
            return User.objects.get(username__iexact=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(
                _("No active user “%(username)s”.") % {"username": username}
            ) from None
    admins = list(
        User.objects.filter(
            is_active=True,
            role_assignments__role=Role.GROUP_ADMIN,
            role_assignments__business_unit__isnull=True,
            role_assignments__legal_entity__isnull=True,
            role_assignments__department__isnull=True,
        ).distinct()[:2]
    )
    if len(admins) != 1:
        raise CommandError(_("Say who acts: --as USERNAME (the work is audited under that user)."))
    return admins[0]


class Progress:
    """One line, rewritten: rows and percent of the file read, rows per second."""

    def __init__(self, size: int, quiet: bool):
        self.size, self.quiet, self.start = max(size, 1), quiet, time.monotonic()

    def __call__(self, rows: int, done: int) -> None:
        if self.quiet:
            return
        secs = max(time.monotonic() - self.start, 1e-6)
        pct = min(100, 100 * done // self.size)
        line = _("%(rows)s rows  %(percent)s %%  %(speed)s rows/s") % {
            "rows": f"{rows:>12,}",
            "percent": f"{pct:3d}",
            "speed": f"{rows / secs:>10,.0f}",
        }
        sys.stderr.write(f"\r  {line}")
        sys.stderr.flush()

    def done(self) -> None:
        if not self.quiet:
            sys.stderr.write("\n")
