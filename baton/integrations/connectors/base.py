"""What every connector offers, whatever protocol it speaks.

A connector is made for one connected system and one `CallLog` (the evidence of the work at
hand) by `connectors.for_system(system, log)`. It implements the parts its system supports:

- access revocation: `find` the leaver's account, `revoke` it (deactivate, remove groups,
  revoke sessions, transfer ownership to the receiver — whatever the system supports),
  `verify` that it is no longer active, and `delete` it after the grace period;
- business data in: `pull` the leaver's records (customers, orders, projects, …);
- customer handover: `reassign_customers` writes new owners back.

Errors are `ConnectorError`s: `retryable` says whether trying again later may help (a time-out,
a 503) or not (a 401 with a wrong token, a rejected request) — the revocation engine and the
pulls retry only the former.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from baton.handover.models import ExitCase
    from baton.integrations.calls import CallLog
    from baton.integrations.models import BusinessItem, ConnectedSystem
    from baton.org.models import Employee


class ConnectorError(Exception):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotSupported(ConnectorError):
    """The system's connector does not offer this (e.g. pulling data from a SCIM server)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass
class Leaver:
    """The person whose accounts and records are handled, as a connector sees them."""

    employee: Employee
    case: ExitCase
    login: str  # the login the account is found by (an AccountLink's, or by the system's match)
    external_id: str = ""  # the system's id, when already known
    receiver: Employee | None = None  # who takes over what the leaver owned
    receiver_login: str = ""


@dataclass
class Account:
    """An account found in a connected system."""

    external_id: str
    login: str
    active: bool | None = None
    groups: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class PulledRecord:
    """One business record of the leaver's, as read from a system (or pushed through the API)."""

    kind: str  # a BusinessKind value
    external_id: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)
    amount: Decimal | None = None
    currency: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contact_language: str = ""


@dataclass
class Reassignment:
    """A customer to hand from the leaver to a new owner in the system."""

    item: BusinessItem
    new_owner: Employee
    new_owner_login: str


class Connector(Protocol):
    system: ConnectedSystem
    log: CallLog

    def find(self, leaver: Leaver) -> Account | None: ...

    def revoke(self, leaver: Leaver, account: Account) -> dict[str, Any]:
        """Deactivate; returns what was done (groups removed, sessions revoked, …)."""
        ...

    def verify(self, leaver: Leaver, account: Account) -> bool:
        """True when the system confirms the account is no longer active."""
        ...

    def delete(self, leaver: Leaver, account: Account) -> None: ...

    def pull(self, leaver: Leaver, kinds: list[str]) -> list[PulledRecord]: ...

    def reassign_customers(
        self, leaver: Leaver, moves: list[Reassignment]
    ) -> dict[int, str | None]:
        """Write new owners back; returns item id → None when done, or the error message."""
        ...
