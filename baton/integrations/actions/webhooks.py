"""Every change to integration settings: webhook subscriptions, their secrets, replays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as core
from baton.core import outbound
from baton.core.errors import InvalidInput
from baton.core.sealed import seal, unseal
from baton.integrations import queue, signing
from baton.integrations.models import Subscription, WebhookDelivery, WebhookStatus

SUBSCRIPTION_FIELDS = (
    "name",
    "url",
    "event_types",
    "business_unit",
    "internal",
    "active",
    "max_attempts",
)
ROTATION_OVERLAP = dt.timedelta(hours=24)


def _check_scope(user: Any, business_unit_id: int | None) -> None:
    authz.check_unit_setting(
        user,
        Perm.INTEGRATIONS_MANAGE,
        business_unit_id,
        _("Only group administrators subscribe to the whole group's events."),
    )


def _check(data: Mapping[str, Any], user: Any, *, internal: bool) -> None:
    if internal and not authz.access_for(user).scopes.get(Perm.USERS_MANAGE):
        raise InvalidInput.field("internal", _("Only administrators may allow internal addresses."))
    types = data.get("event_types")
    if types is not None and (
        not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types)
    ):
        raise InvalidInput.field("event_types", _("Choose at least one event type."))
    if "url" in data:
        try:
            outbound.check_url(str(data["url"]), internal=internal)
        except outbound.Refused as exc:
            raise InvalidInput.field("url", str(exc)) from None


@transaction.atomic
def create_subscription(data: Mapping[str, Any], *, acting_user: Any) -> tuple[Subscription, str]:
    """Create a subscription; returns it with its signing secret (shown once)."""
    data = dict(data)
    bu = data.pop("business_unit_id", None) or data.pop("business_unit", None)
    bu_id = getattr(bu, "pk", bu)
    _check_scope(acting_user, bu_id)
    _check(data, acting_user, internal=bool(data.get("internal")))
    sub = core.create(
        Subscription,
        {**data, "business_unit_id": bu_id, "created_by": acting_user},
        acting_user=acting_user,
        event=E.SUBSCRIPTION_CREATED,
    )
    secret = signing.new_secret()
    seal(sub, {"current": secret})
    sub.save(update_fields=["secrets_blob", "secrets_key_id"])
    return sub, secret


@transaction.atomic
def update_subscription(
    sub: Subscription, data: Mapping[str, Any], *, acting_user: Any
) -> Subscription:
    _check_scope(acting_user, sub.business_unit_id)
    internal = bool(data.get("internal", sub.internal))
    _check({"url": data.get("url", sub.url), **data}, acting_user, internal=internal)
    return core.update(
        sub,
        data,
        acting_user=acting_user,
        event=E.SUBSCRIPTION_UPDATED,
        allowed=SUBSCRIPTION_FIELDS,
    )


@transaction.atomic
def rotate_secret(sub: Subscription, *, acting_user: Any) -> str:
    """A new signing secret; the old one keeps signing too for 24 hours, so receivers can
    switch without missing an event."""
    _check_scope(acting_user, sub.business_unit_id)
    locked = Subscription.objects.select_for_update().get(pk=sub.pk)
    old = unseal(locked).get("current", "")
    secret = signing.new_secret()
    until = timezone.now() + ROTATION_OVERLAP
    seal(locked, {"current": secret, "previous": old, "previous_until": until.isoformat()})
    locked.save(update_fields=["secrets_blob", "secrets_key_id", "updated_at"])
    trail.record(
        E.SUBSCRIPTION_SECRET_ROTATED,
        actor=acting_user,
        subject=locked,
        extra={"previous_valid_until": until.isoformat()},
    )
    return secret


@transaction.atomic
def replay(sub: Subscription, delivery_ids: list[int] | None, *, acting_user: Any) -> int:
    """Send dead-lettered deliveries again (all of the subscription's, or the ones named)."""
    _check_scope(acting_user, sub.business_unit_id)
    qs = WebhookDelivery.objects.select_for_update().filter(
        subscription=sub, status=WebhookStatus.DEAD
    )
    if delivery_ids is not None:
        qs = qs.filter(pk__in=delivery_ids)
    rows = list(qs)
    now = timezone.now()
    for d in rows:
        d.status, d.attempts, d.next_attempt_at, d.error = WebhookStatus.PENDING, 0, now, ""
    WebhookDelivery.objects.bulk_update(rows, ["status", "attempts", "next_attempt_at", "error"])
    if rows:
        trail.record(
            E.WEBHOOKS_REPLAYED,
            actor=acting_user,
            subject=sub,
            extra={"deliveries": [d.pk for d in rows][:1000], "count": len(rows)},
        )
        queue.deliver_webhooks_on_commit()
    return len(rows)
