"""What can be wrong with an uploaded file as a whole (not one of its rows): shared by the CSV
and the XLSX reader."""

from __future__ import annotations

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


class FileProblem(Exception):
    """An uploaded file that cannot be read as a table; the message tells the user why."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def row_too_large(row: int, limit: int) -> FileProblem:
    return FileProblem(
        _(
            "Row %(row)s is longer than %(limit)s, the most one row may hold. Check for a "
            "quotation mark that is not closed, or for a file that is not a table."
        )
        % {"row": row, "limit": filesizeformat(limit)},
        code="row_too_large",
    )
