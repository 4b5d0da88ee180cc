"""Pure decisions of integrations: may this user do this to this case, and why not."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import Conflict
from baton.handover.models import CaseState, ExitCase
from baton.handover.rules import is_leaver

# Business data is pulled, and its tasks made, while the case is approved or in handover.
WORKING_STATES = (CaseState.APPROVED, CaseState.HANDOVER)
# Customers are handed over while the case is in handover (the states pulls run in too).
WORK_CASE_STATES = WORKING_STATES


def require_handler(user: Any, case: ExitCase) -> None:
    """Customers are handed over by HR (CASE_MANAGE) or by whoever approves the leaver's exit
    (the manager, CASE_APPROVE) — never by the leaver."""
    if is_leaver(user, case):
        raise PermissionDenied(_("Nobody hands over their own customers."))
    allowed = ExitCase.objects.filter(
        Q(pk=case.pk)
        & (authz.case_q(user, Perm.CASE_MANAGE) | authz.case_q(user, Perm.CASE_APPROVE))
    )
    if not allowed.exists():
        raise PermissionDenied(_("Only HR or the leaver's manager hands over customers."))
    if case.confidential and case.revealed_at is None:
        # Letters and write-backs would tell customers and systems before the leaver is told.
        raise Conflict(
            _(
                "Customers of a confidential pre-resignation handover are handed over once HR "
                "reveals it."
            )
        )


def check_system_scope(user: Any, business_unit_id: int | None) -> None:
    """Who may change a connected system (or its tokens): its business unit's HR, or group
    administrators for a group-wide one."""
    authz.check_unit_setting(
        user,
        Perm.INTEGRATIONS_MANAGE,
        business_unit_id,
        _("Only group administrators manage the whole group's connected systems."),
    )
