"""Reads for the notification pages and API (always scoped by the caller through `authz`)."""

from __future__ import annotations

from baton.notify.models import Channel
from baton.notify.secrets import read_secrets


def secrets_set(channel: Channel) -> list[str]:
    """The names of the channel's stored secrets that have a value (never the values)."""
    return sorted(k for k, v in read_secrets(channel).items() if v)
