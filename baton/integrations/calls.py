"""HTTP calls to connected systems, each kept as evidence (`ConnectorCall`).

Every connector (SCIM through scim2-client, the declarative REST connector, the WeCom adapter)
talks through `CallLog.client()`: an httpx client whose transport checks the outbound guard
(`baton.core.outbound`) before each request and again on the address it connects to (no
loopback / private / link-local unless the system is marked internal), follows
no redirects, times out, and writes one `ConnectorCall` row per request — method, URL, request
body, status, response body, duration — with the system's secrets redacted. Rows are written at
once (autocommit), so the evidence survives a worker that dies afterwards.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from baton.core import outbound
from baton.core.sealed import unseal
from baton.integrations.models import ConnectedSystem, ConnectorCall

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
BODY_LIMIT = 4000
REDACTED = "***"
# Query parameters and JSON keys whose values are never logged, whatever the system's secrets.
_KEYS = r"(?:access_token|refresh_token|corpsecret|secret|password|token|api_key|apikey)"
_SENSITIVE = re.compile(rf"({_KEYS}=)[^&\s\"]+", re.I)
_SENSITIVE_JSON = re.compile(rf"(\"{_KEYS}\"\s*:\s*\")[^\"]*", re.I)


def system_secrets(system: ConnectedSystem) -> dict[str, str]:
    """The system's sealed secrets (bearer tokens, API keys, corp secrets), by name."""
    return unseal(system)


class CallFailed(Exception):
    """A call could not be made (refused by the URL guard, network error, time-out).
    `retryable`: whether trying later may help (a network failure, a name that did not
    resolve) or not (an address the guard refuses)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class CallLog:
    """The calls made for one piece of work (a revocation, a pull, a customer transfer)."""

    def __init__(
        self,
        system: ConnectedSystem,
        *,
        revocation: Any = None,
        pull: Any = None,
        item: Any = None,
        secrets: Iterable[str] | None = None,
    ) -> None:
        self.system = system
        self.revocation = revocation
        self.pull = pull
        self.item = item
        found = secrets if secrets is not None else system_secrets(system).values()
        # Longest first, so a secret that contains another is redacted whole.
        self._secrets = sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)
        self.current_step = "call"
        self.calls: list[ConnectorCall] = []

    @contextmanager
    def step(self, name: str, item: Any = None) -> Iterator[None]:
        """Name the calls made inside (find, deactivate, verify, pull:customers, …)."""
        previous, previous_item = self.current_step, self.item
        self.current_step = name
        if item is not None:
            self.item = item
        try:
            yield
        finally:
            self.current_step, self.item = previous, previous_item

    def also_redact(self, values: Iterable[str]) -> None:
        """More spellings of the secrets to keep out of the log (URL- or JSON-encoded, …)."""
        known = set(self._secrets) | {v for v in values if v and len(v) >= 4}
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _SENSITIVE.sub(lambda m: m.group(1) + REDACTED, text)
        return _SENSITIVE_JSON.sub(lambda m: m.group(1) + REDACTED, text)

    def _text(self, raw: bytes) -> str:
        text = raw[: BODY_LIMIT * 2].decode("utf-8", "replace")
        text = self.redact(text)
        return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"

    def record(
        self,
        request: httpx.Request,
        response: httpx.Response | None,
        *,
        duration: float,
        error: str = "",
    ) -> ConnectorCall:
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed upload: not kept
            body = b""
        call = ConnectorCall.objects.create(
            system=self.system,
            revocation=self.revocation,
            pull=self.pull,
            item=self.item,
            step=self.current_step[:40],
            method=request.method,
            url=self.redact(str(request.url))[:1000],
            request_body=self._text(body),
            status=response.status_code if response is not None else None,
            response_body=self._text(response.content) if response is not None else "",
            error=self.redact(error)[:2000],
            ok=response is not None and response.status_code < 400 and not error,
            duration_ms=int(duration * 1000),
        )
        self.calls.append(call)
        return call

    def fail_last(self, error: str) -> None:
        """The last call answered, but not what the step's success condition wants."""
        if self.calls:
            call = self.calls[-1]
            call.ok = False
            call.error = self.redact(error)[:2000]
            call.save(update_fields=["ok", "error"])

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this system: base URL, time-outs, no redirects, guarded and
        logged. Close it (or use it as a context manager)."""
        return httpx.Client(
            base_url=self.system.base_url,
            timeout=TIMEOUT,
            follow_redirects=False,
            transport=_LoggedTransport(self),
            **kwargs,
        )


class _LoggedTransport(httpx.BaseTransport):
    def __init__(self, log: CallLog) -> None:
        self.log = log
        # The guard at connect time: a name that resolved to a public address for the check
        # below cannot be connected to an internal one (DNS rebinding).
        self.inner = outbound.GuardedTransport(internal=log.system.internal)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.monotonic()
        try:
            outbound.check_url(str(request.url), internal=self.log.system.internal)
        except outbound.Refused as exc:
            self.log.record(request, None, duration=0, error=str(exc))
            raise CallFailed(str(exc), retryable=isinstance(exc, outbound.Unresolvable)) from None
        try:
            response = self.inner.handle_request(request)
            response.read()
        except outbound.Refused as exc:
            self.log.record(request, None, duration=time.monotonic() - start, error=str(exc))
            raise CallFailed(str(exc), retryable=isinstance(exc, outbound.Unresolvable)) from None
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.log.record(request, None, duration=time.monotonic() - start, error=message)
            raise CallFailed(message, retryable=True) from exc
        self.log.record(request, response, duration=time.monotonic() - start)
        return response

    def close(self) -> None:
        self.inner.close()
