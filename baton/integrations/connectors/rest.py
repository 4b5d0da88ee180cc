"""The declarative REST connector: a system without SCIM (OA, CRM, ERP, code hosting, finance)
driven by the manifest in its `config` (docs/integrations-manifest.md, `manifest.py`).

- `find` runs the find steps; the account is found when every `found_if` holds and an `id` was
  extracted (`login` and `active` too when the manifest extracts them).
- `revoke` runs the revoke steps, then the transfer steps when the manifest has them and the
  leaver has a receiver (ownership of what the leaver owned goes to the receiver).
- `verify` runs the verify steps: true when their `expect` holds. Without verify steps the
  account is looked up again: gone or `active` false is revoked.
- `delete`, `pull` (page by page, with progress) and `reassign_customers` (one flow per
  customer) as the manifest defines them.

Errors: a network error, a time-out, a 5xx, 408 or 429 is `ConnectorError(retryable=True)`;
a 4xx or an answer that does not meet `expect` is `retryable=False`, naming the step and the
answer. Every call goes through the `CallLog` (guarded, logged, secrets redacted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from django.utils.translation import gettext as _

from baton.integrations import manifest as mf
from baton.integrations import steps
from baton.integrations.calls import CallLog, system_secrets
from baton.integrations.connectors.base import (
    Account,
    ConnectorError,
    Leaver,
    NotSupported,
    PulledRecord,
    Reassignment,
)
from baton.integrations.records import parse_record

if TYPE_CHECKING:
    from baton.integrations.models import BusinessItem, ConnectedSystem
    from baton.org.models import Employee

# kind, the page's valid records, a line per record that was not valid
PageSink = Callable[[str, list[PulledRecord], list[str]], None]


class RestConnector:
    def __init__(self, system: ConnectedSystem, log: CallLog) -> None:
        self.system = system
        self.log = log
        try:
            self.manifest = mf.load(system.config or {})
        except mf.ManifestError as exc:
            raise ConnectorError(
                _("The system's manifest is not valid: %(errors)s") % {"errors": exc},
                retryable=False,
            ) from None
        self.secrets = system_secrets(system)
        self._redact_encoded_secrets()

    def _redact_encoded_secrets(self) -> None:
        # A secret written into a query string or a JSON body is logged in its encoded form;
        # redact those spellings too.
        extra: set[str] = set()
        for value in self.secrets.values():
            if value and len(value) >= 4:
                extra |= {quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        self.log.also_redact(extra)

    # ---- plumbing

    @contextmanager
    def _runner(self) -> Iterator[steps.Runner]:
        with self.log.client() as client:
            yield steps.Runner(
                self.manifest,
                client,
                base_url=self.system.base_url,
                on_unmet=self.log.fail_last,
                redact=self.log.redact,
                step_scope=self.log.step,
            )

    @staticmethod
    def _error(exc: steps.StepFailed) -> ConnectorError:
        return ConnectorError(str(exc), retryable=exc.retryable)

    def login_for(self, employee: Employee) -> str:
        """The person's login in this system when no account is linked (the manifest's
        `login`, by default their email)."""
        try:
            return self.manifest.login.text({"employee": _person(employee, "")})
        except mf.RenderError:
            return ""

    def _context(self, leaver: Leaver, account: Account | None = None) -> dict[str, Any]:
        emp = leaver.employee
        employee = {
            **_person(emp, leaver.login or self.login_for(emp)),
            "external_id": leaver.external_id,
        }
        receiver = None
        if leaver.receiver is not None:
            receiver = _person(
                leaver.receiver, leaver.receiver_login or self.login_for(leaver.receiver)
            )
        case = leaver.case
        ctx: dict[str, Any] = {
            "employee": employee,
            "receiver": receiver,
            "case": {
                "id": case.pk,
                "last_working_day": case.last_working_day.isoformat(),
                "exit_type": case.exit_type,
            },
            "secrets": dict(self.secrets),
            "vars": {},
        }
        if account is not None:
            ctx["account"] = _account_ctx(account)
        return ctx

    def _find(self, runner: steps.Runner, leaver: Leaver) -> Account | None:
        found = runner.flow("find", self._context(leaver))
        ext = found.get("id")
        if found.get("__not_found__") or ext in (None, ""):
            return None
        extracted = {
            k: v
            for k, v in found.items()
            if not k.startswith("__") and (v is None or isinstance(v, str | int | float | bool))
        }
        return Account(
            external_id=str(ext),
            login=str(found.get("login") or leaver.login or self.login_for(leaver.employee)),
            active=steps.truthy(found.get("active")),
            raw={"extracted": extracted},
        )

    def _account_for(self, runner: steps.Runner, leaver: Leaver, flow: str) -> Account | None:
        """The leaver's account when the flow's templates need it: looked up when the
        manifest can, else the one already linked."""
        if "account" not in self.manifest.uses.get(flow, set()):
            return None
        if self.manifest.has("find"):
            return self._find(runner, leaver)
        login = leaver.login or self.login_for(leaver.employee)
        return Account(external_id=leaver.external_id or login, login=login)

    # ---- access revocation

    def find(self, leaver: Leaver) -> Account | None:
        if not self.manifest.has("find"):
            raise NotSupported(_("The manifest has no find steps."))
        try:
            with self._runner() as runner:
                return self._find(runner, leaver)
        except steps.StepFailed as exc:
            raise self._error(exc) from None

    def revoke(self, leaver: Leaver, account: Account) -> dict[str, Any]:
        if not self.manifest.has("revoke"):
            raise NotSupported(_("The manifest has no revoke steps."))
        done: dict[str, Any] = {"revoked": [s.label for s in self.manifest.flows["revoke"]]}
        try:
            with self._runner() as runner:
                ctx = self._context(leaver, account)
                extracted = runner.flow("revoke", ctx)
                if self.manifest.has("transfer"):
                    if ctx["receiver"] is None:
                        done["transfer"] = "skipped: no receiver"
                    else:
                        extracted |= runner.flow("transfer", self._context(leaver, account))
                        done["transferred_to"] = ctx["receiver"]["login"]
                        done["transfer"] = [s.label for s in self.manifest.flows["transfer"]]
        except steps.StepFailed as exc:
            raise self._error(exc) from None
        # Counts and flags are kept as evidence ("sessions_ended": 2); text (a session id, a
        # one-time code) only by name: the outcome is audited and shown.
        kept = {
            k: v if isinstance(v, bool | int | float) or v is None else "…"
            for k, v in extracted.items()
            if not k.startswith("__")
        }
        if kept:
            done["extracted"] = kept
        return done

    def verify(self, leaver: Leaver, account: Account) -> bool:
        try:
            with self._runner() as runner:
                if not self.manifest.has("verify"):
                    return self._verify_by_find(runner, leaver)
                try:
                    runner.flow("verify", self._context(leaver, account))
                except steps.StepFailed as exc:
                    if not exc.retryable and exc.status is not None and 200 <= exc.status < 300:
                        return False  # answered, but the account is not (yet) as expected
                    raise
                return True
        except steps.StepFailed as exc:
            raise self._error(exc) from None

    def _verify_by_find(self, runner: steps.Runner, leaver: Leaver) -> bool:
        if not self.manifest.has("find"):
            raise NotSupported(_("The manifest has neither verify nor find steps."))
        again = self._find(runner, leaver)
        if again is None:
            return True
        if again.active is None:
            raise NotSupported(
                _("The manifest has no verify steps and its find does not extract active.")
            )
        return not again.active

    def delete(self, leaver: Leaver, account: Account) -> None:
        if not self.manifest.has("delete"):
            raise NotSupported(_("The manifest has no delete steps."))
        try:
            with self._runner() as runner:
                runner.flow("delete", self._context(leaver, account))
        except steps.StepFailed as exc:
            raise self._error(exc) from None

    def test(self) -> tuple[bool, str]:
        """The connection check of the system's page: the manifest's `test` steps."""
        if not self.manifest.has("test"):
            return False, _("The manifest has no test steps.")
        try:
            with self._runner() as runner:
                runner.flow("test", {"secrets": dict(self.secrets), "vars": {}})
        except steps.StepFailed as exc:
            return False, str(exc)
        return True, _("The system answered as the manifest expects.")

    # ---- business data in

    def kinds(self) -> list[str]:
        return list(self.manifest.pulls)

    def pull(self, leaver: Leaver, kinds: list[str]) -> list[PulledRecord]:
        out: list[PulledRecord] = []
        self.pull_pages(leaver, kinds, lambda _k, records, _bad: out.extend(records))
        return out

    def pull_pages(self, leaver: Leaver, kinds: list[str], sink: PageSink) -> None:
        """Read the leaver's records of `kinds` (all the manifest has when empty), handing each
        page to `sink` as it arrives (so progress shows and memory stays flat)."""
        kinds = list(kinds) or self.kinds()
        missing = [k for k in kinds if k not in self.manifest.pulls]
        if missing:
            raise ConnectorError(
                _("The manifest does not say how to read: %(kinds)s")
                % {"kinds": ", ".join(missing)},
                retryable=False,
            )
        try:
            with self._runner() as runner:
                ctx = self._context(leaver)
                if "account" in self.manifest.uses.get("pull", set()):
                    account = self._account_for(runner, leaver, "pull")
                    if account is None:
                        return  # no account in the system: nothing of theirs to read
                    ctx["account"] = _account_ctx(account)
                for kind in kinds:
                    spec = self.manifest.pulls[kind]
                    for items in runner.pages(spec, dict(ctx)):
                        records, bad = [], []
                        for item in items:
                            raw = steps.map_record(spec, item)
                            record, errors = parse_record(raw)
                            if record is None:
                                ident = raw.get("external_id", "?")
                                bad.append(f"{kind} {ident}: {errors}")
                            else:
                                records.append(record)
                        sink(kind, records, bad)
        except steps.StepFailed as exc:
            raise self._error(exc) from None

    # ---- customer handover

    def reassign_customers(
        self, leaver: Leaver, moves: list[Reassignment]
    ) -> dict[int, str | None]:
        """Write each customer's new owner back (the reassign_customer flow, once per
        customer). Returns item id → None when done, else the error. A network failure or 5xx
        stops the batch: when nothing was done yet it is raised (retryable), otherwise the
        rest are reported as not tried."""
        if not self.manifest.has("reassign_customer"):
            raise NotSupported(_("The manifest has no reassign_customer steps."))
        out: dict[int, str | None] = {}
        with self._runner() as runner:
            try:
                account = self._account_for(runner, leaver, "reassign_customer")
            except steps.StepFailed as exc:
                raise self._error(exc) from None
            for n, move in enumerate(moves):
                ctx = self._context(leaver, account)
                ctx["item"] = _item_ctx(move.item)
                ctx["receiver"] = _person(
                    move.new_owner, move.new_owner_login or self.login_for(move.new_owner)
                )
                try:
                    with self.log.step("reassign_customer", item=move.item):
                        runner.flow("reassign_customer", ctx)
                    out[move.item.pk] = None
                except steps.StepFailed as exc:
                    if exc.retryable and not any(v is None for v in out.values()):
                        raise self._error(exc) from None
                    out[move.item.pk] = str(exc)
                    if exc.retryable:
                        for rest in moves[n + 1 :]:
                            out[rest.item.pk] = _("Not tried: %(error)s") % {"error": exc}
                        break
        return out


def _person(emp: Employee, login: str) -> dict[str, Any]:
    return {
        "id": emp.pk,
        "number": emp.employee_number,
        "name": emp.name,
        "email": emp.email,
        "phone": emp.phone,
        "login": login,
    }


def _account_ctx(account: Account) -> dict[str, Any]:
    return {
        **(account.raw.get("extracted") or {}),
        "id": account.external_id,
        "login": account.login,
        "active": account.active,
    }


def _item_ctx(item: BusinessItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "external_id": item.external_id,
        "name": item.name,
        "contact_name": item.contact_name,
        "contact_email": item.contact_email,
    }
