from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from baton.core.errors import ActionError


def apply_action_error(form: forms.BaseForm, exc: ActionError) -> None:
    """Show an action's refusal on the form: field errors on their fields, the rest on top."""
    placed = False
    for name, msgs in exc.field_errors.items():
        target = (
            name if name in form.fields else (f"{name}_id" if f"{name}_id" in form.fields else None)
        )
        for msg in msgs:
            form.add_error(target, msg)
            placed = True
    if not placed or exc.status != 400:
        form.add_error(None, exc.message)


def run_action(
    form: forms.BaseForm,
    call: Callable[[], Any],
    *,
    adapt: Callable[[ActionError], None] | None = None,
) -> Any:
    """Validate the form, then run the action; on refusal put the reason on the form and return
    None. `adapt` may rename the action's field errors to the form's first."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ActionError as exc:
        if adapt is not None:
            adapt(exc)
        apply_action_error(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
    return None
