"""Tencent Cloud SMS: `SendSms` of API 2021-01-11, signed with TC3-HMAC-SHA256.

The request is a JSON POST; the signature covers the method, path, the content-type and host
headers and the SHA-256 of the exact body bytes (Tencent Cloud API 3.0 "signature v3"). The
message text is the template registered with Tencent Cloud; the values of
`message.template_params`, in insertion order, fill its {1}, {2}, ... placeholders.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baton.notify.channels.base import (
    ConfigError,
    Message,
    PhoneError,
    Recipient,
    SendResult,
    check_url,
    normalize_phone,
    parse_json,
    post,
    require,
    trim,
    unexpected,
    url_destination,
)

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com/"
DEFAULT_REGION = "ap-guangzhou"
API_VERSION = "2021-01-11"
ACTION = "SendSms"
SIGNING_SERVICE = "sms"
CONTENT_TYPE = "application/json; charset=utf-8"
ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "Tencent Cloud SMS"

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")

_SIGNATURE_CODES = frozenset({"AuthFailure.SignatureFailure", "AuthFailure.InvalidAuthorization"})
_SECRET_ID_CODES = frozenset({"AuthFailure.SecretIdNotFound", "AuthFailure.InvalidSecretId"})
_PHONE_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberParseFail",
        "UnsupportedOperation.UnsupportedRegion",
        "FailedOperation.PhoneNumberOnBlacklist",
    }
)
_RETRYABLE_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "InternalError",
        "InternalError.Timeout",
        "InternalError.RequestTimeException",
        "InternalError.OtherError",
        "InternalError.SendAndRecvFail",
        "FailedOperation.FailResolvePacket",
    }
)


def now() -> float:
    """The clock used for X-TC-Timestamp; tests replace it."""
    return time.time()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: bytes,
    timestamp: int,
    method: str = "POST",
    path: str = "/",
    query: str = "",
    content_type: str = CONTENT_TYPE,
) -> str:
    """The Authorization header of a TC3-HMAC-SHA256 request signing content-type and host."""
    signed_headers = "content-type;host"
    canonical_headers = (
        f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    )
    canonical_request = "\n".join(
        [method.upper(), path, query, canonical_headers, signed_headers, _sha256_hex(payload)]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode())])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _failure(code: str, detail: str, phone: str, raw: str) -> SendResult:
    retryable = False
    if code in _SIGNATURE_CODES:
        reason = _("Tencent Cloud rejected the request signature: check the SecretKey.")
    elif code in _SECRET_ID_CODES:
        reason = _("Tencent Cloud does not know this SecretId, or it is disabled.")
    elif code == "AuthFailure.SignatureExpire":
        reason = _("Tencent Cloud rejected the request time: check this server's clock.")
    elif code.startswith("AuthFailure"):
        reason = _("Tencent Cloud refused the credentials.")
    elif code in _PHONE_CODES:
        reason = _("Tencent Cloud refused the phone number %(phone)s.") % {"phone": phone}
    elif code.startswith("LimitExceeded") or code in _RETRYABLE_CODES:
        retryable = True
        reason = _("Tencent Cloud is limiting the sending rate; try again later.")
    elif code.startswith("InternalError"):
        retryable = True
        reason = _("Tencent Cloud SMS had an internal error.")
    else:
        reason = _("Tencent Cloud SMS refused the message.")
    return SendResult(
        ok=False,
        retryable=retryable,
        response=raw,
        error=_("%(reason)s (%(code)s: %(detail)s)")
        % {"reason": reason, "code": code, "detail": trim(detail, 300)},
    )


class TencentSmsAdapter:
    kind: ClassVar[str] = "sms_tencent"
    label = gettext_lazy("Tencent Cloud SMS")
    setting_fields: ClassVar[tuple[str, ...]] = (
        "endpoint",
        "secret_id",
        "sdk_app_id",
        "sign_name",
        "template_id",
    )
    optional_fields: ClassVar[tuple[str, ...]] = ("region",)
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_key",)
    defaults: ClassVar[dict[str, str]] = {"endpoint": DEFAULT_ENDPOINT, "region": DEFAULT_REGION}

    def _settings(self, settings: dict[str, Any]) -> dict[str, str]:
        merged = {name: str(settings.get(name) or "").strip() for name in self.setting_fields}
        merged["region"] = str(settings.get("region") or "").strip()
        for name, default in self.defaults.items():
            merged[name] = merged[name] or default
        return merged

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return [url_destination("endpoint", self._settings(settings)["endpoint"])]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        merged = self._settings(settings)
        require(merged, secrets, self)
        check_url(merged["endpoint"], "endpoint")
        if not merged["sdk_app_id"].isdigit():
            raise ConfigError(
                _("“%(field)s” must be the numeric SmsSdkAppId.") % {"field": "sdk_app_id"},
                "sdk_app_id",
            )
        if not merged["template_id"].isdigit():
            raise ConfigError(
                _("“%(field)s” must be the numeric template id.") % {"field": "template_id"},
                "template_id",
            )
        if not _REGION.match(merged["region"]):
            raise ConfigError(
                _("“%(field)s” is not a region such as ap-guangzhou.") % {"field": "region"},
                "region",
            )

    def build_request(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        phone_e164: str,
        message: Message,
    ) -> tuple[str, dict[str, str], bytes]:
        """URL, headers and body bytes of the signed SendSms request."""
        merged = self._settings(settings)
        url = merged["endpoint"]
        parts = urlsplit(url)
        # The host that is signed must be the Host header sent: set it explicitly.
        host = parts.netloc.rpartition("@")[2]
        body: dict[str, Any] = {
            "PhoneNumberSet": [phone_e164],
            "SmsSdkAppId": merged["sdk_app_id"],
            "SignName": merged["sign_name"],
            "TemplateId": merged["template_id"],
            "TemplateParamSet": [str(value) for value in message.template_params.values()],
        }
        if message.idempotency_key:
            body["SessionContext"] = message.idempotency_key
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(now())
        headers = {
            "Authorization": authorization(
                secret_id=merged["secret_id"],
                secret_key=str(secrets.get("secret_key", "")),
                service=SIGNING_SERVICE,
                host=host,
                payload=payload,
                timestamp=timestamp,
                path=parts.path or "/",
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": merged["region"],
        }
        return url, headers, payload

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult:
        try:
            phone = normalize_phone(recipient.phone)
        except PhoneError as exc:
            return SendResult(ok=False, retryable=False, error=str(exc))
        url, headers, payload = self.build_request(settings, secrets, phone, message)
        response = post(SERVICE, url, content=payload, headers=headers)
        if isinstance(response, SendResult):
            return response
        return self.interpret(response.status_code, response.text, phone)

    def interpret(self, status: int, text: str, phone: str) -> SendResult:
        raw = trim(text)
        data = parse_json(text)
        answer = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(answer, dict):
            return unexpected(SERVICE, status, text)
        error = answer.get("Error")
        if isinstance(error, dict):
            return _failure(str(error.get("Code", "")), str(error.get("Message", "")), phone, raw)
        statuses = answer.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
            return SendResult(
                ok=False,
                retryable=False,
                response=raw,
                error=_("%(service)s did not report a send status.") % {"service": SERVICE},
            )
        entry = statuses[0]
        code = str(entry.get("Code", ""))
        if code.lower() == "ok":
            return SendResult(
                ok=True, provider_message_id=str(entry.get("SerialNo", "")), response=raw
            )
        return _failure(code, str(entry.get("Message", "")), phone, raw)
