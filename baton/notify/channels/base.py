"""What every delivery channel adapter speaks: a recipient, a rendered message, a result.

An adapter turns one message for one recipient into one provider call. It never touches the
database: the delivery machinery (`baton.notify.delivery`) claims, records and retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext as _

from baton.core import outbound

# Provider calls: short timeouts, never follow redirects (a redirect is a misconfiguration).
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# Whether the adapters may reach private or local addresses: only for a channel a group
# administrator marked internal (`delivery.send_via` sets it from the channel). Anything else —
# an adapter called without a channel included — gets the outbound guard's default: public
# addresses only, checked on the address actually connected to.
_internal: ContextVar[bool] = ContextVar("baton_notify_internal", default=False)


@contextmanager
def internal_destinations(allowed: bool) -> Iterator[None]:
    """Within: the adapters' calls may (True) or may not reach internal addresses."""
    token = _internal.set(allowed)
    try:
        yield
    finally:
        _internal.reset(token)


def internal_allowed() -> bool:
    return _internal.get()


def http_client() -> httpx.Client:
    return outbound.client(internal=internal_allowed(), timeout=HTTP_TIMEOUT)


@dataclass(frozen=True)
class Recipient:
    user_id: int | None
    name: str
    email: str = ""
    phone: str = ""  # as stored; adapters normalise with normalize_phone()
    language: str = "zh-hans"
    time_zone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Message:
    # Stable across retries of the same delivery: providers that accept an idempotency or
    # correlation id get it, so a retried send after a crash can be recognised.
    idempotency_key: str
    subject: str
    text: str
    html: str = ""
    # One line for SMS and robot titles.
    short: str = ""
    # Named values for SMS templates registered with the provider (order matters for Tencent).
    template_params: dict[str, str] = field(default_factory=dict)
    link: str = ""
    attachments: tuple[tuple[str, bytes, str], ...] = ()


@dataclass
class SendResult:
    ok: bool
    provider_message_id: str = ""
    response: str = ""  # the provider's answer, trimmed, for the delivery log
    error: str = ""  # what went wrong, for people
    retryable: bool = True  # False: retrying cannot help (bad number, rejected signature)


class ConfigError(ValueError):
    """The channel's settings cannot work; the message names the field."""

    def __init__(self, message: str, field_name: str = "") -> None:
        super().__init__(message)
        self.field_name = field_name


class Adapter(Protocol):
    kind: ClassVar[str]
    # Settings keys shown on the channel page (non-secret) and secret keys (stored encrypted).
    setting_fields: ClassVar[tuple[str, ...]]
    secret_fields: ClassVar[tuple[str, ...]]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        """Raise ConfigError naming the first missing or malformed field."""

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """Where sending connects to: (settings field, URL — smtp://host:port for mail), for
        the outbound guard and for binding the stored secrets to their host."""
        ...

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult: ...


_PHONE_CN = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str, default_country_code: str = "86") -> str:
    """A phone number in E.164 (+8613800138000). Mainland mobile numbers may be written
    without the country code; anything else must carry one."""
    cleaned = re.sub(r"[\s\-()]", "", raw or "")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if _PHONE_CN.match(cleaned) and default_country_code == "86":
        return "+86" + cleaned
    if cleaned.startswith("86") and _PHONE_CN.match(cleaned[2:]):
        return "+" + cleaned
    if _E164.match(cleaned):
        if cleaned.startswith("+86") and not _PHONE_CN.match(cleaned[3:]):
            raise PhoneError(_("%(phone)s is not a mainland China mobile number.") % {"phone": raw})
        return cleaned
    raise PhoneError(
        _("%(phone)s is not a mobile number (expected 11 digits or +country code).")
        % {"phone": raw or "—"}
    )


def require(settings: dict[str, Any], secrets: dict[str, str], adapter: Adapter) -> None:
    """ConfigError for the first empty setting or secret the adapter declares."""
    for name in adapter.setting_fields:
        if not str(settings.get(name, "")).strip():
            raise ConfigError(_("“%(field)s” is required.") % {"field": name}, name)
    for name in adapter.secret_fields:
        if not str(secrets.get(name, "")).strip():
            raise ConfigError(_("“%(field)s” is required.") % {"field": name}, name)


def trim(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def check_url(value: str, field_name: str) -> None:
    """ConfigError unless `value` is an http(s) URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            _("“%(field)s” must be an http:// or https:// URL.") % {"field": field_name},
            field_name,
        )


def url_destination(field_name: str, url: str) -> tuple[str, str]:
    """(settings field, URL) of a provider URL, for the outbound guard."""
    return field_name, url


def refused(exc: outbound.Refused) -> SendResult:
    """The outbound guard refused the destination: nothing was sent, and nothing is echoed."""
    return SendResult(
        ok=False, retryable=isinstance(exc, outbound.Unresolvable), error=str(exc), response=""
    )


def transport_failure(exc: httpx.HTTPError, service: str) -> SendResult:
    """A network-level failure as a result: retryable unless the URL itself is unusable."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol):
        return SendResult(
            ok=False,
            retryable=False,
            error=_("%(service)s: unsupported URL: %(error)s")
            % {"service": service, "error": detail},
        )
    if isinstance(exc, httpx.TimeoutException):
        message = _("%(service)s did not answer in time: %(error)s")
    elif isinstance(exc, httpx.ConnectError):
        message = _("Could not connect to %(service)s (connection error): %(error)s")
    else:
        message = _("The connection to %(service)s failed: %(error)s")
    return SendResult(
        ok=False, retryable=True, error=message % {"service": service, "error": detail}
    )


def post(service: str, url: str, **kwargs: Any) -> httpx.Response | SendResult:
    """POST to a provider; a network failure comes back as a SendResult to return as is."""
    try:
        with http_client() as client:
            return client.post(url, **kwargs)
    except outbound.Refused as exc:
        return refused(exc)
    except httpx.InvalidURL as exc:
        return SendResult(ok=False, retryable=False, error=str(exc))
    except httpx.HTTPError as exc:
        return transport_failure(exc, service)


def parse_json(text: str) -> Any:
    """The provider's answer as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def unexpected(service: str, status: int, text: str) -> SendResult:
    """An answer the adapter cannot read: retry only server errors and throttling."""
    return SendResult(
        ok=False,
        retryable=status >= 500 or status == 429,
        response=trim(text),
        error=_("%(service)s answered HTTP %(status)s with an unexpected body.")
        % {"service": service, "status": status},
    )
