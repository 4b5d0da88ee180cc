"""Integrations: events out (a transactional outbox feeding signed webhooks), the connected
systems whose accounts are revoked when people leave, and the business data pulled from them.

Every write goes through the `baton.integrations.actions` package (one module per aggregate) or
the outbox / delivery / connector machinery.
"""

from baton.integrations.models.business import (
    BusinessItem,
    BusinessKind,
    DataPull,
    PullState,
    WriteBackState,
)
from baton.integrations.models.events import (
    OPEN_WEBHOOK,
    Event,
    Subscription,
    WebhookDelivery,
    WebhookStatus,
)
from baton.integrations.models.systems import (
    OPEN_REVOCATION,
    AccountLink,
    ConnectedSystem,
    ConnectorCall,
    Revocation,
    RevocationState,
    SystemKind,
)

__all__ = [
    "OPEN_REVOCATION",
    "OPEN_WEBHOOK",
    "AccountLink",
    "BusinessItem",
    "BusinessKind",
    "ConnectedSystem",
    "ConnectorCall",
    "DataPull",
    "Event",
    "PullState",
    "Revocation",
    "RevocationState",
    "Subscription",
    "SystemKind",
    "WebhookDelivery",
    "WebhookStatus",
    "WriteBackState",
]
