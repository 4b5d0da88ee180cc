"""Shared machinery for actions: validate, save, audit — in the caller's transaction.

Actions are plain functions in `<app>/actions.py`, decorated with `@transaction.atomic`, that
take `acting_user` as a keyword. They call these helpers so that every create and update is
validated the same way, saved with `update_fields`, and audited with old → new values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.core.errors import Conflict, InvalidInput

M = TypeVar("M", bound=models.Model)


UNIQUE_CODES = {"unique", "unique_together", "unique_constraint"}


def validation_to_input(exc: ValidationError) -> InvalidInput | Conflict:
    """A model validation error as the action's refusal: 409 when it is only a uniqueness
    clash with an existing record, 400 otherwise."""
    if hasattr(exc, "error_dict"):
        codes = {e.code for errors in exc.error_dict.values() for e in errors}
        if codes and codes <= UNIQUE_CODES:
            fields = {
                k.removesuffix("_id"): [str(m) for m in ValidationError(v).messages]
                for k, v in exc.error_dict.items()
            }
            return Conflict(_("This conflicts with an existing record."), fields)
        fields = {
            ("__all__" if k == "__all__" else k.removesuffix("_id")): [str(m) for m in v.messages]
            if hasattr(v, "messages")
            else [str(x) for x in v]
            for k, v in exc.message_dict.items()
        }
        return InvalidInput(_("Please correct the highlighted fields."), fields)
    return InvalidInput(" ".join(exc.messages))


def clean(obj: models.Model, exclude: Iterable[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=list(exclude or []), validate_constraints=True)
    except ValidationError as exc:
        raise validation_to_input(exc) from None


def _save(obj: models.Model, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict(
            _("This conflicts with an existing record (%(detail)s).")
            % {"detail": str(exc).splitlines()[0][:200]}
        ) from None


def create[M: models.Model](
    model: type[M],
    data: Mapping[str, Any],
    *,
    acting_user: Any,
    event: AuditEvent,
    extra: Mapping[str, Any] | None = None,
) -> M:
    """Validate and insert a new row, and audit every field it was created with."""
    obj = model(**data)
    clean(obj)
    _save(obj)
    trail.record(
        event,
        actor=acting_user,
        subject=obj,
        changes={k: (None, _plain(v)) for k, v in data.items()},
        extra=extra,
    )
    return obj


def update[M: models.Model](
    obj: M,
    data: Mapping[str, Any],
    *,
    acting_user: Any,
    event: AuditEvent,
    allowed: Iterable[str],
    extra: Mapping[str, Any] | None = None,
) -> M:
    """Lock the row, apply the allowed fields, validate, save what changed, audit old → new."""
    allowed = set(allowed)
    unknown = set(data) - allowed
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    # Through _meta (not type(obj)) so a lazily-wrapped request.user works too.
    locked: M = obj._meta.model._default_manager.select_for_update().get(pk=obj.pk)  # type: ignore[assignment]
    attnames = [_attname(locked, k) for k in data]
    before = {a: getattr(locked, a) for a in attnames}
    for key, value in data.items():
        setattr(
            locked, _attname(locked, key) if not isinstance(value, models.Model) else key, value
        )
    after = {a: getattr(locked, a) for a in attnames}
    changes = {k: (_plain(before[k]), _plain(after[k])) for k in attnames if before[k] != after[k]}
    if not changes:
        return locked
    clean(locked)
    _save(locked, update_fields=[*changes, *_auto_now_fields(locked)])
    trail.record(event, actor=acting_user, subject=locked, changes=changes, extra=extra)
    return locked


def _attname(obj: models.Model, name: str) -> str:
    field = obj._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name)
    return field.attname  # type: ignore[union-attr]


def _auto_now_fields(obj: models.Model) -> list[str]:
    return [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value
