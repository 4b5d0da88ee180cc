"""The SCIM 2.0 connector (RFC 7643/7644): finds the leaver's user in an identity provider,
deactivates it (`PATCH active=false`), removes it from every group, revokes its sessions where
the provider offers an endpoint for that, verifies by reading the user back, and deletes it
after the grace period.

It speaks SCIM through scim2-client (payloads built and checked with scim2-models) over the
`CallLog`'s httpx client, so every request is guarded, logged as evidence and redacted.

The system's `config`:

- `match`: which Baton attribute is the login (`email`, `employee_number`, `phone`,
  `username`; default `email`) — used by the revocation engine;
- `filter_attribute`: the SCIM attribute the login is searched by (default `userName`;
  e.g. `emails.value`);
- `remove_groups`: remove group memberships (default true);
- `sessions_path`: e.g. `/Users/{id}/sessions`, answered with DELETE, where the provider
  supports revoking sessions (an answer 404/405/501 means it does not: noted, not a failure).

Secrets: `token`, the bearer token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pydantic
from django.utils.translation import gettext as _
from scim2_client.client import BaseSyncSCIMClient, describe_resource_models
from scim2_client.errors import SCIMClientException
from scim2_models import (
    EnterpriseUser,
    Group,
    PatchOp,
    SCIMException,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    User,
)

from baton.integrations.calls import CallFailed, CallLog, system_secrets
from baton.integrations.connectors.base import (
    Account,
    ConnectorError,
    Leaver,
    NotSupported,
    PulledRecord,
    Reassignment,
)
from baton.integrations.models import ConnectedSystem

ScimUser = User[EnterpriseUser]
_MODELS, _TYPES = describe_resource_models([ScimUser, Group])
GROUP_PAGE = 200
MAX_GROUPS = 2000
# Answers that say "this provider has no such endpoint", for optional steps.
_UNSUPPORTED = {404, 405, 501}


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def _status_of(exc: Exception) -> int:
    status = getattr(exc, "status", None)
    if isinstance(status, int | str) and str(status).isdigit():
        return int(status)
    source = getattr(exc, "source", None)
    code = getattr(source, "status_code", None)
    return code if isinstance(code, int) else 0


class _Scim(BaseSyncSCIMClient):
    """scim2-client's synchronous client over an httpx client (the call log's)."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (url.scheme, url.host, url.port) == (
            base.scheme,
            base.host,
            base.port,
        ) and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


def _search(**fields: Any) -> SearchRequest[Any]:
    """A search request, checked by scim2-models (a filter it cannot parse is refused)."""
    return SearchRequest.model_validate(fields)


def _patch(model: Any, *operations: dict[str, Any]) -> PatchOp[Any]:
    return PatchOp[model].model_validate({"Operations": list(operations)})


def filter_string(attribute: str, value: str) -> str:
    """`attribute eq "value"` with the value quoted as SCIM filters quote (JSON strings)."""
    return f"{attribute} eq {json.dumps(value, ensure_ascii=False)}"


class ScimConnector:
    def __init__(self, system: ConnectedSystem, log: CallLog) -> None:
        self.system = system
        self.log = log
        self.config: dict[str, Any] = system.config or {}

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _scim(self) -> Iterator[_Scim]:
        token = system_secrets(self.system).get("token", "")
        if not token:
            raise ConnectorError(
                _("No bearer token is set for %(system)s.") % {"system": self.system.name},
                retryable=False,
            )
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        with self.log.client(headers=headers) as client:
            yield _Scim(client, provider=ScimProvider(models=_MODELS, resource_types=_TYPES))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SCIM, HTTP and network failures as `ConnectorError`s: retryable when trying later
        may help (network, time-out, 5xx, 408, 429), not when the answer will not change."""
        step = self.log.current_step
        try:
            yield
        except ConnectorError:
            raise
        except CallFailed as exc:
            raise ConnectorError(f"{step}: {exc}", retryable=exc.retryable) from exc
        except (SCIMException, SCIMClientException) as exc:
            status = _status_of(exc)
            detail = str(exc) or type(exc).__name__
            raise ConnectorError(
                f"{step}: HTTP {status or '?'}: {detail}"[:1000], retryable=_retryable(status)
            ) from exc
        except pydantic.ValidationError as exc:
            raise ConnectorError(
                f"{step}: {_('the answer is not valid SCIM')}: {exc.errors()[0].get('msg')}",
                retryable=False,
            ) from exc

    @staticmethod
    def _account(user: Any) -> Account:
        groups = [g.value for g in (user.groups or []) if g.value]
        return Account(
            external_id=str(user.id),
            login=str(user.user_name or ""),
            active=user.active,
            groups=groups,
            raw=user.model_dump(mode="json"),
        )

    # ------------------------------------------------------------ access revocation

    def find(self, leaver: Leaver) -> Account | None:
        """The leaver's user: by its known id, else by the login (exactly one must match)."""
        with self.log.step("find"), self._errors(), self._scim() as scim:
            if leaver.external_id:
                try:
                    known: Any = scim.query(ScimUser, leaver.external_id)
                    return self._account(known)
                except SCIMException as exc:
                    if _status_of(exc) != 404:
                        raise
            if not leaver.login:
                return None
            attribute = str(self.config.get("filter_attribute") or "userName")
            search = _search(filter=filter_string(attribute, leaver.login), count=2)
            found: Any = scim.query(ScimUser, query_parameters=search)
            users = list(found.resources or [])
            if len(users) > 1:
                raise ConnectorError(
                    _("More than one account matches %(login)s; link the right one by hand.")
                    % {"login": leaver.login},
                    retryable=False,
                )
            return self._account(users[0]) if users else None

    def _group_ids(self, scim: _Scim, account: Account) -> list[tuple[str, str]] | None:
        """The user's groups (id, name): from the user's own `groups` attribute when the
        provider fills it, else by searching groups for the member. None: the provider cannot
        say (filtering groups by member is optional in SCIM)."""
        if account.groups:
            names = {g.get("value"): g.get("display") or "" for g in account.raw.get("groups", [])}
            return [(g, names.get(g, "")) for g in account.groups]
        found: list[tuple[str, str]] = []
        start = 1
        while len(found) < MAX_GROUPS:
            try:
                search = _search(
                    filter=f"members[value eq {json.dumps(account.external_id)}]",
                    attributes=["displayName"],
                    count=GROUP_PAGE,
                    startIndex=start,
                )
                page: Any = scim.query(Group, query_parameters=search)
            except SCIMException as exc:
                if _status_of(exc) in (400, 403, *_UNSUPPORTED):
                    return None
                raise
            resources = list(page.resources or [])
            found += [(str(g.id), str(g.display_name or "")) for g in resources]
            total = page.total_results or 0
            if not resources or start - 1 + len(resources) >= total:
                break
            start += len(resources)
        return found

    def revoke(self, leaver: Leaver, account: Account) -> dict[str, Any]:
        done: dict[str, Any] = {"account": {"id": account.external_id, "login": account.login}}
        with self._scim() as scim:
            with self.log.step("deactivate"), self._errors():
                deactivate = _patch(ScimUser, {"op": "replace", "path": "active", "value": False})
                scim.modify(ScimUser, account.external_id, deactivate)
            done["deactivated"] = True
            if self.config.get("remove_groups", True):
                with self.log.step("groups"), self._errors():
                    groups = self._group_ids(scim, account)
                    if groups is None:
                        done["groups"] = "not listed by the system"
                    else:
                        member = json.dumps(account.external_id)
                        for group_id, _name in groups:
                            remove = _patch(
                                Group, {"op": "remove", "path": f"members[value eq {member}]"}
                            )
                            scim.modify(Group, group_id, remove)
                        done["groups_removed"] = [name or gid for gid, name in groups]
            path = str(self.config.get("sessions_path") or "")
            if path:
                with self.log.step("sessions"), self._errors():
                    url = path.replace("{id}", quote(account.external_id, safe=""))
                    response = scim.request("DELETE", url)
                    if response.status_code < 300:
                        done["sessions"] = "revoked"
                    elif response.status_code in _UNSUPPORTED:
                        done["sessions"] = "not supported by the system"
                    else:
                        raise ConnectorError(
                            f"sessions: HTTP {response.status_code}",
                            retryable=_retryable(response.status_code),
                        )
        return done

    def verify(self, leaver: Leaver, account: Account) -> bool:
        """Read the user back: deactivated (or gone) is verified."""
        with self.log.step("verify"), self._errors(), self._scim() as scim:
            try:
                user: Any = scim.query(ScimUser, account.external_id)
            except SCIMException as exc:
                if _status_of(exc) == 404:
                    return True
                raise
            if user.active is not False:
                self.log.fail_last(_("The account is still active."))
                return False
            return True

    def delete(self, leaver: Leaver, account: Account) -> None:
        with self.log.step("delete"), self._errors(), self._scim() as scim:
            try:
                scim.delete(ScimUser, account.external_id)
            except SCIMException as exc:
                if _status_of(exc) != 404:  # already gone: nothing left to delete
                    raise

    # ------------------------------------------------------------ settings page

    def test(self) -> tuple[bool, str]:
        """Whether the provider answers with these settings: its service configuration (often
        public), then a search for a user nobody has (which needs the token)."""
        try:
            with self.log.step("test"), self._errors(), self._scim() as scim:
                config: Any = scim.query(ServiceProviderConfig)
                probe = _search(filter=filter_string("userName", "baton-connection-test"), count=1)
                scim.query(ScimUser, query_parameters=probe)
        except ConnectorError as exc:
            return False, str(exc)
        features = [
            name
            for name, feature in (("patch", config.patch), ("filter", config.filter))
            if feature is not None and feature.supported
        ]
        return True, _("The SCIM service answered (supports: %(features)s).") % {
            "features": ", ".join(features) or "-"
        }

    # ------------------------------------------------------------ not offered by SCIM

    def pull(self, leaver: Leaver, kinds: list[str]) -> list[PulledRecord]:
        raise NotSupported(_("A SCIM identity provider holds no business records."))

    def reassign_customers(
        self, leaver: Leaver, moves: list[Reassignment]
    ) -> dict[int, str | None]:
        raise NotSupported(_("A SCIM identity provider holds no customers."))
