"""Reads of integration settings, scoped to the user: what the API and the pages list."""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.integrations.models import ConnectedSystem, Subscription


def _managed[M: (Subscription, ConnectedSystem)](user: Any, qs: QuerySet[M]) -> QuerySet[M]:
    """Integration settings the user manages: all for group administrators, their business
    units' for an HRBP (group-wide ones need the whole group)."""
    authz.require(user, Perm.INTEGRATIONS_MANAGE)
    scope = authz.access_for(user).scopes.get(Perm.INTEGRATIONS_MANAGE)
    if scope is None or scope.empty:
        return qs.none()
    if scope.everything:
        return qs
    return qs.filter(business_unit_id__in=scope.business_units)


def subscriptions(user: Any) -> QuerySet[Subscription]:
    return _managed(user, Subscription.objects.all())


def systems(user: Any) -> QuerySet[ConnectedSystem]:
    """The connected systems the user manages."""
    return _managed(user, ConnectedSystem.objects.select_related("business_unit", "legal_entity"))


def system(user: Any, system_id: int) -> ConnectedSystem:
    try:
        return systems(user).get(pk=system_id)
    except ConnectedSystem.DoesNotExist:
        raise Http404(_("Not found, or not visible to you.")) from None


def subscription(user: Any, sub_id: int) -> Subscription:
    try:
        return subscriptions(user).select_related("business_unit").get(pk=sub_id)
    except Subscription.DoesNotExist:
        raise Http404(_("Not found, or not visible to you.")) from None


def serving(case: Any) -> Q:
    """The systems a leaver's accounts and records are in: those of the case's legal entity or
    of every entity, and of the case's business unit or of the whole group."""
    return (Q(legal_entity__isnull=True) | Q(legal_entity_id=case.legal_entity_id)) & (
        Q(business_unit__isnull=True) | Q(business_unit_id=case.business_unit_id)
    )


def serves(system: ConnectedSystem, case: Any) -> bool:
    return system.legal_entity_id in (None, case.legal_entity_id) and (
        system.business_unit_id in (None, case.business_unit_id)
    )


def sees_revocations(user: Any) -> bool:
    """Revocations and their call logs are IT's evidence: IT, HR and auditors read them, not
    leavers or receivers."""
    return any(authz.has_perm(user, p) for p in (Perm.QUEUE_IT, Perm.CASE_MANAGE, Perm.AUDIT_VIEW))


def lock_rows[M: models.Model](qs: QuerySet[M]) -> QuerySet[M]:
    """Lock the rows of `qs` (and not the rows of tables it joins, where the database can
    tell them apart) until the transaction ends."""
    if connection.features.has_select_for_update_of:
        return qs.select_for_update(of=("self",))
    return qs.select_for_update()
