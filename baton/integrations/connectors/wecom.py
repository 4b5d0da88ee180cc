"""WeCom (企业微信) external contacts: a departed member's customers, their transfer to the
members who take over (离职继承) and the state of those transfers.

The system's config holds the corp id (`corpid`) and, optionally, how an employee's WeCom
userid is found (`match`: email / employee_number / username, when no account link names
it); the secret of the customer-contact application is sealed on the row as `secret`.

WeCom answers HTTP 200 with `errcode` in the body: 0 is success; an invalid or expired access
token (40014 / 42001) is fetched again once and the call repeated; -1 (busy) and 45009 / 45033
(frequency limits) are worth retrying later; everything else is a refusal. A transfer answers
per customer (0 accepted, 40128 too frequent, 40129 already being transferred, 84084 not this
member's customer, …): each customer succeeds or fails on its own. At most 100 customers go in
one call. An accepted transfer takes effect when the customer does not object within 24 hours;
`transfer_status` reads how it ended (1 done, 2 waiting, 3 refused by the customer, 4 the
taker-over reached the customer limit, 5 no record).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from django.utils.translation import gettext as _

from baton.integrations.calls import CallFailed, system_secrets
from baton.integrations.connectors.base import (
    Account,
    ConnectorError,
    Leaver,
    NotSupported,
    PulledRecord,
    Reassignment,
)
from baton.integrations.logins import matched_value

if TYPE_CHECKING:
    from baton.integrations.calls import CallLog
    from baton.integrations.models import ConnectedSystem
    from baton.org.models import Employee

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
BATCH = 100  # WeCom's limit of external_userids per transfer call and users/contacts per page
TOKEN_ERRORS = (40014, 42001)  # invalid / expired access_token: fetch a new one
RETRYABLE = (-1, 45009, 45033)  # busy, frequency limit, concurrency limit
MAX_PAGES = 1000  # a cursor that never ends is the vendor's bug, not a reason to loop forever


class TransferStatus:
    DONE = 1
    WAITING = 2
    REFUSED = 3
    LIMIT = 4
    NO_RECORD = 5


@dataclass
class TransferResult:
    """How one customer's transfer stands in WeCom."""

    external_userid: str
    status: int
    takeover_time: int = 0

    @property
    def message(self) -> str:
        return {
            TransferStatus.DONE: _("Taken over."),
            TransferStatus.WAITING: _("Waiting: takes effect within 24 hours."),
            TransferStatus.REFUSED: _("The customer refused the new contact."),
            TransferStatus.LIMIT: _("The new contact has reached WeCom's customer limit."),
            TransferStatus.NO_RECORD: _("WeCom has no record of this transfer."),
        }.get(self.status, _("Unknown transfer status %(status)s.") % {"status": self.status})


class WecomError(ConnectorError):
    def __init__(self, errcode: int, errmsg: str, step: str) -> None:
        super().__init__(
            _("WeCom refused %(step)s: errcode %(code)s (%(message)s).")
            % {"step": step, "code": errcode, "message": errmsg or "—"},
            retryable=errcode in RETRYABLE,
        )
        self.errcode = errcode


class WecomConnector:
    """The WeCom adapter. One instance per piece of work: the access token is cached on it."""

    def __init__(self, system: ConnectedSystem, log: CallLog) -> None:
        self.system = system
        self.log = log
        self._token = ""

    # ---------------------------------------------------------------- plumbing

    def _client(self) -> httpx.Client:
        return self.log.client()

    def _send(
        self, client: httpx.Client, method: str, path: str, params: dict[str, str], body: Any
    ) -> dict[str, Any]:
        try:
            response = client.request(method, path, params=params, json=body)
        except CallFailed as exc:
            raise ConnectorError(str(exc), retryable=exc.retryable) from None
        if response.status_code >= 400:
            raise ConnectorError(
                _("WeCom answered HTTP %(status)s.") % {"status": response.status_code},
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("errcode", 0), int):
            self.log.fail_last("not a WeCom answer")
            raise ConnectorError(_("WeCom's answer could not be read."), retryable=True)
        return data

    def _fetch_token(self, client: httpx.Client) -> str:
        corpid = str(self.system.config.get("corpid") or "")
        secret = system_secrets(self.system).get("secret", "")
        if not corpid or not secret:
            raise ConnectorError(
                _("Set the corp id and the secret of this WeCom system first."), retryable=False
            )
        with self.log.step("gettoken"):
            data = self._send(
                client, "GET", "/cgi-bin/gettoken", {"corpid": corpid, "corpsecret": secret}, None
            )
        code = data.get("errcode", 0)
        if code or not data.get("access_token"):
            self.log.fail_last(f"errcode {code}")
            raise WecomError(int(code or -1), str(data.get("errmsg", "")), "gettoken")
        self._token = str(data["access_token"])
        self.log.also_redact([self._token])  # it travels in every later URL
        return self._token

    def _call(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        step: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """One API call with the cached token; an invalid or expired token is replaced once.
        Answers the body when errcode is 0, raises WecomError otherwise."""
        for attempt in (1, 2):
            token = self._token or self._fetch_token(client)
            with self.log.step(step):
                data = self._send(
                    client, method, path, {**(params or {}), "access_token": token}, body
                )
            code = int(data.get("errcode", 0))
            if code in TOKEN_ERRORS and attempt == 1:
                self.log.fail_last(f"errcode {code}: access token replaced")
                self._token = ""
                continue
            if code:
                self.log.fail_last(f"errcode {code}")
                raise WecomError(code, str(data.get("errmsg", "")), step)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def login_for(self, employee: Employee) -> str:
        """The employee's WeCom userid when no account link names it: their attribute the
        system matches by (`config["match"]`: email, employee_number, phone or username)."""
        return matched_value(employee, str(self.system.config.get("match") or "email"))

    # ---------------------------------------------------------------- accounts (not offered)

    def find(self, leaver: Leaver) -> Account | None:
        raise NotSupported(_("WeCom external contacts do not revoke accounts."))

    def revoke(self, leaver: Leaver, account: Account) -> dict[str, Any]:
        raise NotSupported(_("WeCom external contacts do not revoke accounts."))

    def verify(self, leaver: Leaver, account: Account) -> bool:
        raise NotSupported(_("WeCom external contacts do not revoke accounts."))

    def delete(self, leaver: Leaver, account: Account) -> None:
        raise NotSupported(_("WeCom external contacts do not revoke accounts."))

    # ---------------------------------------------------------------- customers in

    def pull(self, leaver: Leaver, kinds: list[str]) -> list[PulledRecord]:
        """The leaver's customers (batch/get_by_user, 100 a page, by cursor)."""
        if kinds and "customer" not in kinds:
            return []
        records: list[PulledRecord] = []
        cursor = ""
        with self._client() as client:
            for _page in range(MAX_PAGES):
                data = self._call(
                    client,
                    "POST",
                    "/cgi-bin/externalcontact/batch/get_by_user",
                    "pull:customers",
                    body={"userid_list": [leaver.login], "cursor": cursor, "limit": BATCH},
                )
                for entry in data.get("external_contact_list") or []:
                    records.append(_record(entry))
                cursor = str(data.get("next_cursor") or "")
                if not cursor:
                    break
        return records

    # ---------------------------------------------------------------- customers out

    def reassign_customers(
        self, leaver: Leaver, moves: list[Reassignment]
    ) -> dict[int, str | None]:
        """Transfer each customer from the leaver to its new owner: one call per 100 customers
        per new owner. Returns item id → None (accepted) or the reason it was refused."""
        result: dict[int, str | None] = {}
        by_takeover: dict[str, list[Reassignment]] = defaultdict(list)
        for move in moves:
            if not move.new_owner_login:
                result[move.item.pk] = _("%(name)s has no WeCom account.") % {
                    "name": move.new_owner.name
                }
            elif move.new_owner_login == leaver.login:
                result[move.item.pk] = _("The new contact is the leaver's own WeCom account.")
            else:
                by_takeover[move.new_owner_login].append(move)
        if not by_takeover:
            return result
        with self._client() as client:
            for takeover, group in sorted(by_takeover.items()):
                for start in range(0, len(group), BATCH):
                    chunk = group[start : start + BATCH]
                    result.update(self._transfer(client, leaver.login, takeover, chunk))
        return result

    def _transfer(
        self, client: httpx.Client, handover: str, takeover: str, chunk: list[Reassignment]
    ) -> dict[int, str | None]:
        by_external = {m.item.external_id: m.item.pk for m in chunk}
        try:
            data = self._call(
                client,
                "POST",
                "/cgi-bin/externalcontact/resigned/transfer_customer",
                "transfer_customer",
                body={
                    "handover_userid": handover,
                    "takeover_userid": takeover,
                    "external_userid": list(by_external),
                },
            )
        except ConnectorError as exc:
            # The whole call failed (an unknown takeover member, the network, a busy server):
            # its customers fail with the reason; the other calls' answers stand.
            return dict.fromkeys(by_external.values(), str(exc))
        out: dict[int, str | None] = {}
        for answer in data.get("customer") or []:
            item_id = by_external.get(str(answer.get("external_userid", "")))
            if item_id is None:
                continue
            code = int(answer.get("errcode", 0) or 0)
            out[item_id] = (
                None
                if code == 0
                else _("WeCom refused the transfer: errcode %(code)s.") % {"code": code}
            )
        for item_id in by_external.values():
            out.setdefault(item_id, _("WeCom did not answer for this customer."))
        return out

    def transfer_status(self, handover: str, takeover: str) -> dict[str, TransferResult]:
        """How the transfers from `handover` to `takeover` stand, by external_userid."""
        found: dict[str, TransferResult] = {}
        cursor = ""
        with self._client() as client:
            for _page in range(MAX_PAGES):
                data = self._call(
                    client,
                    "POST",
                    "/cgi-bin/externalcontact/resigned/transfer_result",
                    "transfer_result",
                    body={
                        "handover_userid": handover,
                        "takeover_userid": takeover,
                        "cursor": cursor,
                    },
                )
                for c in data.get("customer") or []:
                    eid = str(c.get("external_userid", ""))
                    found[eid] = TransferResult(
                        eid, int(c.get("status") or 0), int(c.get("takeover_time") or 0)
                    )
                cursor = str(data.get("next_cursor") or "")
                if not cursor:
                    break
        return found


def _record(entry: dict[str, Any]) -> PulledRecord:
    contact = entry.get("external_contact") or {}
    follow = entry.get("follow_info") or {}
    mobiles = follow.get("remark_mobiles") or []
    person = str(contact.get("name") or "")
    company = str(contact.get("corp_full_name") or contact.get("corp_name") or "")
    return PulledRecord(
        kind="customer",
        external_id=str(contact.get("external_userid") or ""),
        name=(f"{company} · {person}" if company and person else company or person)[:300],
        details={
            "corp_name": contact.get("corp_name", ""),
            "position": contact.get("position", ""),
            "type": contact.get("type"),
            "remark": follow.get("remark", ""),
            "description": follow.get("description", ""),
            "added_at": follow.get("createtime"),
        },
        contact_name=person[:200],
        contact_phone=str(mobiles[0])[:32] if mobiles else "",
    )
