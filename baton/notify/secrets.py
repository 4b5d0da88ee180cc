"""Channel secrets at rest (`baton.core.sealed`): encrypted, bound to the channel."""

from __future__ import annotations

from baton.core.sealed import seal, unseal
from baton.notify.models import Channel


def write_secrets(channel: Channel, secrets: dict[str, str]) -> None:
    seal(channel, secrets)


def read_secrets(channel: Channel) -> dict[str, str]:
    return unseal(channel)
