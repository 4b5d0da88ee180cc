"""Connectors: how Baton talks to each kind of connected system (SCIM 2.0, a declarative REST
manifest, WeCom external contacts). Every call goes through `baton.integrations.calls`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baton.integrations.calls import CallLog
    from baton.integrations.connectors.base import Connector
    from baton.integrations.models import ConnectedSystem

# kind → "module:Class" (imported on first use).
REGISTRY = {
    "scim": "baton.integrations.connectors.scim:ScimConnector",
    "rest": "baton.integrations.connectors.rest:RestConnector",
    "wecom": "baton.integrations.connectors.wecom:WecomConnector",
}


def for_system(system: ConnectedSystem, log: CallLog) -> Connector:
    """The connector for this system, logging its calls to `log`."""
    module, _, cls = REGISTRY[system.kind].partition(":")
    connector: Connector = getattr(import_module(module), cls)(system, log)
    return connector
