"""Per-request context (request id, client IP) that actions and the audit trail read.

Set by RequestContextMiddleware for web requests; background tasks and commands set it with
`request_context(...)` so their audit entries carry a correlation id too.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None = None
    via_token_id: int | None = None


_current: ContextVar[RequestContext | None] = ContextVar("baton_request_context", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        # Outside a request (shell, command, task): a fresh id per call is still traceable.
        return RequestContext(request_id=f"local-{uuid.uuid4().hex[:16]}")
    return ctx


@contextlib.contextmanager
def request_context(
    request_id: str | None = None, client_ip: str | None = None, via_token_id: int | None = None
) -> Iterator[RequestContext]:
    ctx = RequestContext(request_id or uuid.uuid4().hex, client_ip, via_token_id)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_token(token_id: int) -> None:
    """Record that the current request authenticated with an API token."""
    ctx = current()
    _current.set(RequestContext(ctx.request_id, ctx.client_ip, token_id))
