"""The models and the migrations agree: a change to a model (or to an enum's choices, such as a
new audit event type) without its migration fails here, not on a customer's `baton migrate`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.smoke
@pytest.mark.django_db
def test_no_model_change_lacks_its_migration() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        raise AssertionError(
            f"missing migrations (run `baton makemigrations`):\n{out.getvalue()}"
        ) from exc
