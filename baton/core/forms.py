from __future__ import annotations

from django import forms

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
