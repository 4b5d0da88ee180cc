"""Errors an action raises when it refuses: translated, naming the problem, nothing written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext as _


class ActionError(Exception):
    status = 400

    def __init__(self, message: str, field_errors: Mapping[str, Sequence[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}

    def as_dict(self) -> dict[str, object]:
        return {"detail": self.message, "errors": self.field_errors}


class InvalidInput(ActionError):
    status = 400

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(_("Please correct the highlighted field."), {name: [message]})


class Conflict(ActionError):
    status = 409


class NotFound(InvalidInput):
    """Nothing answers to what was given (e.g. a mistyped link): 404."""

    status = 404


class Gone(Conflict):
    """It existed but is no longer usable (a used or expired link): 410."""

    status = 410
