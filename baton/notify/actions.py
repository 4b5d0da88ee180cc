"""Every change to notification settings, and the reminder run itself."""

from __future__ import annotations

import datetime as dt
import secrets as pysecrets
from collections.abc import Iterable, Mapping
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
from baton.core.errors import Conflict, InvalidInput
from baton.core.models import ScheduledRun
from baton.handover import crypto
from baton.notify import delivery, planner, render
from baton.notify.channels import adapter_for
from baton.notify.channels.base import ConfigError, Message
from baton.notify.models import (
    FAMILY_OF_KIND,
    Audience,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Family,
    Mode,
    Notification,
    Preference,
    ReminderRule,
    Repeat,
)
from baton.notify.rules import DEFAULT_RULES
from baton.notify.secrets import read_secrets, write_secrets

# --- the reminder run -------------------------------------------------------------------------


def run_reminders(
    now: dt.datetime, *, run_id: int | None = None, hand_off: delivery.HandOff | None = None
) -> dict[str, Any]:
    """Plan the reminders due at `now` and send (or hand to the workers) everything ready.
    The planning is recorded on a scheduled-run row and audited once per run (the delivery log
    holds each message)."""
    with transaction.atomic():
        if run_id is not None:
            run = ScheduledRun.objects.select_for_update().get(pk=run_id)
        else:
            run = ScheduledRun.objects.create(
                job="reminders-manual", slot=f"{now.isoformat()} {pysecrets.token_hex(4)}"
            )
        result = planner.plan(now)
        run.result = {"now": now.isoformat(), **result.as_dict()}
        run.finished_at = timezone.now()
        run.save(update_fields=["result", "finished_at"])
        trail.record(E.REMINDERS_PLANNED, actor=None, subject=run, extra=run.result)
    sent = delivery.dispatch(now, hand_off=hand_off)
    return {**result.as_dict(), "sent": sent.as_dict()}


# --- channels ---------------------------------------------------------------------------------


def _check_channel_scope(user: Any, business_unit_id: int | None) -> None:
    authz.check_unit_setting(
        user,
        Perm.NOTIFY_MANAGE,
        business_unit_id,
        _("Only group administrators configure channels for the whole group."),
    )


def may_allow_internal(user: Any) -> bool:
    """Who may let a channel reach private or local addresses: group administrators only
    (notification settings of the whole group and user administration — never a business
    unit's HR, and never through an API token, which cannot carry users.manage)."""
    scope = authz.access_for(user).scopes.get(Perm.NOTIFY_MANAGE)
    return bool(scope and scope.everything) and authz.has_perm(user, Perm.USERS_MANAGE)


def _where(kind: str, settings: Mapping[str, Any]) -> list[tuple[str, tuple[str, str, int | None]]]:
    """(field, (scheme, host, port)) of every place the channel connects to."""
    return [
        (name, outbound.origin(url)) for name, url in adapter_for(kind).destinations(dict(settings))
    ]


def _validate(
    kind: str, settings: dict[str, Any], secrets: dict[str, str], *, internal: bool
) -> None:
    if kind not in ChannelKind.values:
        raise InvalidInput.field("kind", _("Unknown provider “%(kind)s”.") % {"kind": kind})
    try:
        adapter_for(kind).check_config(settings, secrets)
    except ConfigError as exc:
        raise InvalidInput.field(exc.field_name or "settings", str(exc)) from None
    # The outbound guard, at save time (and again on the address connected to when sending):
    # a name that does not resolve now is left to the send, which refuses it then.
    for name, (_scheme, host, port) in _where(kind, settings):
        try:
            outbound.check_host(host, port or 0, internal=internal, unresolved_ok=True)
        except outbound.Refused as exc:
            raise InvalidInput.field(name, str(exc)) from None


def _check_internal(user: Any, internal: bool, *, moved: bool) -> None:
    # Allowing internal addresses, or pointing an internal channel elsewhere, is a group
    # administrator's decision; renaming one or switching it off is not.
    if internal and moved and not may_allow_internal(user):
        raise InvalidInput.field(
            "internal", _("Only group administrators may allow internal addresses.")
        )


def secrets_moved_notice() -> str:
    return _(
        "The channel now connects to another host, so its stored secrets were removed (they "
        "are never sent to a host they were not given for). Enter them again."
    )


def _clean_settings(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    adapter = adapter_for(kind)
    allowed = (*adapter.setting_fields, *getattr(adapter, "optional_fields", ()))
    unknown = set(raw) - set(allowed)
    if unknown:
        raise InvalidInput.field(
            "settings",
            _("Unknown settings for this provider: %(names)s")
            % {"names": ", ".join(sorted(unknown))},
        )
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}


def _clean_secrets(kind: str, raw: Mapping[str, str]) -> dict[str, str]:
    adapter = adapter_for(kind)
    allowed = (*adapter.secret_fields, *getattr(adapter, "optional_secrets", ()))
    unknown = set(raw) - set(allowed)
    if unknown:
        raise InvalidInput.field(
            "secrets",
            _("Unknown secrets for this provider: %(names)s")
            % {"names": ", ".join(sorted(unknown))},
        )
    return {k: str(v) for k, v in raw.items()}


@transaction.atomic
def create_channel(
    data: Mapping[str, Any], secrets: Mapping[str, str], *, acting_user: Any
) -> Channel:
    kind = str(data.get("kind", ""))
    bu = data.get("business_unit_id")
    _check_channel_scope(acting_user, bu)
    if kind not in ChannelKind.values:
        raise InvalidInput.field("kind", _("Unknown provider “%(kind)s”.") % {"kind": kind})
    family = FAMILY_OF_KIND[ChannelKind(kind)]
    existing = Channel.objects.filter(family=family, business_unit_id=bu).first()
    if existing is not None:
        where = _("the whole group") if bu is None else _("this business unit")
        raise Conflict(
            _("There is already a channel for this."),
            {
                "business_unit": [
                    _(
                        "%(family)s already has a channel for %(where)s: “%(name)s”. "
                        "Change that one."
                    )
                    % {"family": Family(family).label, "where": where, "name": existing.name}
                ]
            },
        )
    settings_ = _clean_settings(kind, data.get("settings") or {})
    clean_secrets = _clean_secrets(kind, secrets)
    internal = bool(data.get("internal", False))
    _check_internal(acting_user, internal, moved=True)
    _validate(kind, settings_, clean_secrets, internal=internal)
    fields = {k: v for k, v in data.items() if k != "settings"}
    channel = core.create(
        Channel,
        {**fields, "settings": settings_, "family": family},
        acting_user=acting_user,
        event=E.CHANNEL_CREATED,
        extra={"secrets_set": sorted(k for k, v in clean_secrets.items() if v)},
    )
    write_secrets(channel, clean_secrets)
    channel.save(update_fields=["secrets_blob", "secrets_key_id"])
    return channel


CHANNEL_FIELDS = (
    "name",
    "enabled",
    "mandatory",
    "settings",
    "internal",
    "quiet_start",
    "quiet_end",
)


@transaction.atomic
def update_channel(
    channel: Channel,
    data: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    *,
    acting_user: Any,
) -> Channel:
    """Change a channel. Secrets not given (or given empty) keep their stored value — unless
    the channel now connects to another scheme, host or port: then the stored secrets not
    given again are removed (audited; `channel.notices` says so), so whoever may edit the
    address cannot have a robot key or SMTP password sent to a host of their choosing."""
    _check_channel_scope(acting_user, channel.business_unit_id)
    data = dict(data)
    if "settings" in data:
        data["settings"] = _clean_settings(channel.kind, data["settings"] or {})
    new_settings = data.get("settings", channel.settings)
    internal = bool(data.get("internal", channel.internal))
    adapter = adapter_for(channel.kind)
    # Any other address (even another path on the same host) of an internal channel is the
    # administrator's decision; another host also unbinds the stored secrets.
    moved = adapter.destinations(dict(new_settings)) != adapter.destinations(channel.settings)
    moved_host = _where(channel.kind, new_settings) != _where(channel.kind, channel.settings)
    _check_internal(acting_user, internal, moved=moved or (internal and not channel.internal))
    stored = read_secrets(channel)
    changed_secrets = {k: v for k, v in _clean_secrets(channel.kind, secrets or {}).items() if v}
    removed = sorted(set(stored) - set(changed_secrets)) if moved_host else []
    kept = {k: v for k, v in stored.items() if k not in removed}
    merged = {**kept, **changed_secrets}
    try:
        _validate(channel.kind, new_settings, merged, internal=internal)
    except InvalidInput as exc:
        if removed and any(name in removed for name in exc.field_errors):
            # A required secret was removed with the move: ask for it again, saying why.
            raise InvalidInput.field(
                next(name for name in exc.field_errors if name in removed), secrets_moved_notice()
            ) from None
        raise
    extra: dict[str, Any] = {}
    if changed_secrets:
        extra["secrets_changed"] = sorted(changed_secrets)
    if removed:
        extra["secrets_removed"] = removed
        extra["reason"] = "the channel connects to another host"
    fields_change = any(getattr(channel, k, None) != v for k, v in data.items())
    channel = core.update(
        channel,
        data,
        acting_user=acting_user,
        event=E.CHANNEL_UPDATED,
        allowed=CHANNEL_FIELDS,
        extra=extra or None,
    )
    if changed_secrets or removed:
        write_secrets(channel, merged)
        channel.save(update_fields=["secrets_blob", "secrets_key_id"])
        if not fields_change:  # core.update audited nothing: say that the secrets changed
            trail.record(E.CHANNEL_UPDATED, actor=acting_user, subject=channel, extra=extra)
    channel.notices = [secrets_moved_notice()] if removed else []  # type: ignore[attr-defined]
    return channel


def test_channel(channel: Channel, *, acting_user: Any) -> Delivery:
    """Send a test message to the acting user through the channel, now, and record the
    outcome on the channel (shown on the settings page) and in the delivery log."""
    _check_channel_scope(acting_user, channel.business_unit_id)
    channel = Channel.objects.get(pk=channel.pk)  # the stored settings and secrets
    now = timezone.now()
    with transaction.atomic():
        d = Delivery.objects.create(
            key=f"test:c{channel.pk}:{pysecrets.token_hex(8)}",
            kind=DeliveryKind.TEST,
            family=channel.family,
            recipient=acting_user,
            period=now.date().isoformat(),
            not_before=now,
            idempotency_key=pysecrets.token_hex(16),
            channel=channel,
        )
    # Send through this channel even when it is not (yet) the enabled one for its family.
    # Through _meta: request.user is a lazy wrapper around the user.
    user = acting_user._meta.model._default_manager.select_related("employee").get(
        pk=acting_user.pk
    )
    recipient = delivery.recipient_of(user)
    with render.language(user.language):
        content = render.test_message(user)
    message = Message(
        idempotency_key=d.idempotency_key,
        subject=content.subject,
        text=content.text,
        html=content.html,
        short=content.short,
        template_params=content.params,
        link=content.link,
    )
    result = delivery.send_via(channel, recipient, message)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.last_test_at = timezone.now()
        locked.last_test_ok = result.ok
        locked.last_error = "" if result.ok else result.error
        locked.save(update_fields=["last_test_at", "last_test_ok", "last_error"])
        d.status = DeliveryStatus.SENT if result.ok else DeliveryStatus.FAILED
        d.attempts = 1
        d.address = delivery.address_for(channel.family, recipient)[:254]
        d.subject = content.subject
        d.response = result.response[:4000]
        d.error = result.error[:2000]
        d.provider_message_id = result.provider_message_id[:128]
        d.sent_at = timezone.now() if result.ok else None
        d.save()
        trail.record(
            E.CHANNEL_TESTED,
            actor=acting_user,
            subject=locked,
            extra={"ok": result.ok, "error": result.error[:500]},
        )
    return d


# --- reminder rules ---------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "offset",
    "repeat",
    "audience",
    "channels",
    "mode",
    "escalation",
    "is_active",
    "sort",
)


def _check_rule_scope(user: Any, template_id: int | None) -> None:
    scope = authz.access_for(user).scopes.get(Perm.NOTIFY_MANAGE)
    if scope is None or scope.empty:
        raise authz.PermissionDenied(_("You do not have permission to do this."))
    if template_id is None and not scope.everything:
        raise authz.PermissionDenied(
            _("Only group administrators change the default reminder rules.")
        )


def _check_rule_values(data: Mapping[str, Any]) -> None:
    channels = data.get("channels")
    if channels is not None:
        if not isinstance(channels, list) or not channels:
            raise InvalidInput.field("channels", _("Choose at least one channel."))
        bad = [c for c in channels if c not in Family.values]
        if bad:
            raise InvalidInput.field(
                "channels",
                _("Unknown channels: %(names)s") % {"names": ", ".join(map(str, bad))},
            )
    offset = data.get("offset")
    if offset is not None and not -30 <= int(offset) <= 60:
        raise InvalidInput.field(
            "offset", _("Choose between 30 working days before and 60 after the due date.")
        )
    if data.get("repeat") == Repeat.DAILY and offset is not None and int(offset) < 1:
        raise InvalidInput.field(
            "repeat", _("Daily reminders are for overdue items (1 or more days after).")
        )


@transaction.atomic
def create_rule(data: Mapping[str, Any], *, acting_user: Any) -> ReminderRule:
    _check_rule_scope(acting_user, data.get("template_id"))
    _check_rule_values(data)
    if data.get("item_key") and not data.get("template_id"):
        raise InvalidInput.field("item_key", _("An item key needs its checklist."))
    return core.create(
        ReminderRule, dict(data), acting_user=acting_user, event=E.REMINDER_RULE_CREATED
    )


@transaction.atomic
def update_rule(rule: ReminderRule, data: Mapping[str, Any], *, acting_user: Any) -> ReminderRule:
    _check_rule_scope(acting_user, rule.template_id)
    _check_rule_values({"offset": rule.offset, "repeat": rule.repeat, **data})
    return core.update(
        rule, data, acting_user=acting_user, event=E.REMINDER_RULE_UPDATED, allowed=RULE_FIELDS
    )


@transaction.atomic
def delete_rule(rule: ReminderRule, *, acting_user: Any) -> None:
    _check_rule_scope(acting_user, rule.template_id)
    locked = ReminderRule.objects.select_for_update().get(pk=rule.pk)
    trail.record(
        E.REMINDER_RULE_DELETED,
        actor=acting_user,
        subject=locked,
        changes={f: (getattr(locked, f), None) for f in RULE_FIELDS},
        extra={"template": locked.template_id, "item_key": locked.item_key},
    )
    locked.delete()


def ensure_default_rules(*, acting_user: Any = None) -> int:
    """Create the default rules if there are none (a new installation, the demo)."""
    if ReminderRule.objects.filter(template__isnull=True).exists():
        return 0
    with transaction.atomic():
        made = []
        for n, spec in enumerate(DEFAULT_RULES):
            rule = ReminderRule(
                name="",
                offset=spec["offset"],
                repeat=spec["repeat"],
                audience=spec["audience"],
                channels=[str(c) for c in spec["channels"]],
                mode=spec["mode"],
                escalation=spec.get("escalation", False),
                sort=n,
            )
            rule.save()
            made.append(rule)
        trail.record_many(
            [
                trail.Change(
                    E.REMINDER_RULE_CREATED,
                    r,
                    {f: (None, getattr(r, f)) for f in RULE_FIELDS},
                    {"default": True},
                )
                for r in made
            ],
            actor=acting_user,
        )
    return len(made)


def describe(rule: ReminderRule) -> str:
    """The rule in words (used when it has no name)."""
    if rule.offset < 0:
        when = _("%(days)s working day(s) before the due date") % {"days": -rule.offset}
    elif rule.offset == 0:
        when = _("on the due date")
    else:
        when = _("%(days)s working day(s) overdue") % {"days": rule.offset}
    if rule.repeat == Repeat.DAILY:
        when = _("every working day from %(when)s") % {"when": when}
    channels = ", ".join(str(Family(c).label) for c in rule.channels if c in Family.values)
    how = _(" (daily digest)") if rule.mode == Mode.DIGEST else ""
    return _("%(when)s → %(who)s by %(channels)s%(how)s") % {
        "when": when,
        "who": Audience(rule.audience).label,
        "channels": channels,
        "how": how,
    }


# --- the user's own choices and notifications -------------------------------------------------


@transaction.atomic
def set_preferences(user: Any, disabled: Iterable[str], *, acting_user: Any) -> Preference:
    """Switch channels off (or on) for oneself. In-app cannot be switched off; a channel the
    organisation made mandatory is refused with its name."""
    if acting_user.pk != user.pk:
        raise authz.PermissionDenied(_("You may only choose your own channels."))
    wanted = sorted(set(disabled))
    bad = [c for c in wanted if c not in Family.values]
    if bad:
        raise InvalidInput.field(
            "disabled", _("Unknown channels: %(names)s") % {"names": ", ".join(bad)}
        )
    if Family.INAPP in wanted:
        raise InvalidInput.field("disabled", _("In-app notifications cannot be switched off."))
    mandatory = [
        str(c) for c in Channel.objects.filter(enabled=True, mandatory=True, family__in=wanted)
    ]
    if mandatory:
        raise InvalidInput.field(
            "disabled",
            _("Your organisation requires these channels: %(names)s")
            % {"names": ", ".join(mandatory)},
        )
    pref, _created = Preference.objects.select_for_update().get_or_create(user=user)
    before = list(pref.disabled)
    if before != wanted:
        pref.disabled = wanted
        pref.save(update_fields=["disabled", "updated_at"])
        trail.record(
            E.NOTIFY_PREFERENCES_CHANGED,
            actor=acting_user,
            subject=user,
            changes={"disabled": (before, wanted)},
        )
    return pref


def mark_read(user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None). Reading is the
    user's own bookkeeping, not a business change: it is not audited (docs/decisions.md)."""
    with transaction.atomic():
        qs = Notification.objects.select_for_update().filter(user=user, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        rows = list(qs)
        now = timezone.now()
        for n in rows:
            n.read_at = now
        Notification.objects.bulk_update(rows, ["read_at"])
    return len(rows)


def reencrypt_channel_secrets() -> int:
    """Re-encrypt channel secrets not under the current key (part of `baton keys rotate`)."""
    current = crypto.current_key_id()
    done = 0
    for pk in (
        Channel.objects.exclude(secrets_key_id=current)
        .exclude(secrets_blob=b"")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            channel = Channel.objects.select_for_update().get(pk=pk)
            write_secrets(channel, read_secrets(channel))
            channel.save(update_fields=["secrets_blob", "secrets_key_id"])
            trail.record(E.CHANNEL_UPDATED, actor=None, subject=channel, extra={"key": current})
            done += 1
    return done
