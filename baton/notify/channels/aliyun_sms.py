"""Alibaba Cloud SMS: `SendSms` of dysmsapi (API version 2017-05-25, RPC style, signature v1).

The request is a form POST whose parameters are signed with HMAC-SHA1 over the canonicalised,
sorted parameter list (Alibaba Cloud "RPC signature mechanism"). The message text is the
template registered with Alibaba Cloud; `message.template_params` fills its variables.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

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

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
DEFAULT_REGION = "cn-hangzhou"
API_VERSION = "2017-05-25"
SERVICE = "Alibaba Cloud SMS"

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")

# Answers that mean the request signature or the AccessKey was refused: retrying cannot help.
_SIGNATURE_CODES = frozenset({"SignatureDoesNotMatch", "IncompleteSignature"})
_ACCESS_KEY_CODES = frozenset(
    {"InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive", "InvalidAccessKeyId"}
)
_PHONE_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"})
_CONFIG_CODES = frozenset(
    {
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.PRODUCT_UNSUBSCRIBE",
        "isp.RAM_PERMISSION_DENY",
        "Forbidden.RAM",
        "Forbidden.NoPermission",
    }
)
# Flow control and transient provider faults: a later attempt may succeed.
_RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "isp.SYSTEM_ERROR",
        "SignatureNonceUsed",  # a retry carries a fresh nonce
    }
)


def now() -> float:
    """The clock used for Timestamp; tests replace it."""
    return time.time()


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud specifies it: only A-Z a-z 0-9 - _ . ~ stay."""
    return quote(value, safe="~").replace("+", "%20").replace("*", "%2A")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{percent_encode(name)}={percent_encode(value)}" for name, value in sorted(params.items())
    )


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def sign(method: str, params: dict[str, str], access_key_secret: str) -> str:
    """Signature v1: base64(HMAC-SHA1(secret + "&", StringToSign)); `params` without Signature."""
    digest = hmac.new(
        (access_key_secret + "&").encode(),
        string_to_sign(method, params).encode(),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def aliyun_phone(e164: str) -> str:
    """Mainland numbers go without +86, others as country code + number without "+"."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


class AliyunSmsAdapter:
    kind: ClassVar[str] = "sms_aliyun"
    label = gettext_lazy("Alibaba Cloud SMS")
    setting_fields: ClassVar[tuple[str, ...]] = (
        "endpoint",
        "access_key_id",
        "sign_name",
        "template_code",
    )
    optional_fields: ClassVar[tuple[str, ...]] = ("region_id",)
    secret_fields: ClassVar[tuple[str, ...]] = ("access_key_secret",)
    defaults: ClassVar[dict[str, str]] = {"endpoint": DEFAULT_ENDPOINT, "region_id": DEFAULT_REGION}

    def _settings(self, settings: dict[str, Any]) -> dict[str, str]:
        merged = {name: str(settings.get(name) or "").strip() for name in self.setting_fields}
        merged["region_id"] = str(settings.get("region_id") or "").strip()
        for name, default in self.defaults.items():
            merged[name] = merged[name] or default
        return merged

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return [url_destination("endpoint", self._settings(settings)["endpoint"])]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        merged = self._settings(settings)
        require(merged, secrets, self)
        check_url(merged["endpoint"], "endpoint")
        if not _REGION.match(merged["region_id"]):
            raise ConfigError(
                _("“%(field)s” is not a region id such as cn-hangzhou.") % {"field": "region_id"},
                "region_id",
            )

    def build_params(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        phone_number: str,
        message: Message,
    ) -> dict[str, str]:
        """The signed SendSms parameters (Signature included)."""
        merged = self._settings(settings)
        params = {
            "AccessKeyId": merged["access_key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone_number,
            "RegionId": merged["region_id"],
            "SignName": merged["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": merged["template_code"],
            "Timestamp": datetime.fromtimestamp(now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        if message.template_params:
            params["TemplateParam"] = json.dumps(
                message.template_params, ensure_ascii=False, separators=(",", ":")
            )
        if message.idempotency_key:
            # Alibaba Cloud's correlation id: it comes back in delivery receipts.
            params["OutId"] = message.idempotency_key
        params["Signature"] = sign("POST", params, str(secrets.get("access_key_secret", "")))
        return params

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult:
        try:
            phone = aliyun_phone(normalize_phone(recipient.phone))
        except PhoneError as exc:
            return SendResult(ok=False, retryable=False, error=str(exc))
        params = self.build_params(settings, secrets, phone, message)
        signature = params.pop("Signature")
        body = canonical_query(params) + "&Signature=" + percent_encode(signature)
        response = post(
            SERVICE,
            self._settings(settings)["endpoint"],
            content=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
            },
        )
        if isinstance(response, SendResult):
            return response
        return self.interpret(response.status_code, response.text, phone)

    def interpret(self, status: int, text: str, phone: str) -> SendResult:
        raw = trim(text)
        data = parse_json(text)
        if not isinstance(data, dict) or "Code" not in data:
            return unexpected(SERVICE, status, text)
        code = str(data.get("Code", ""))
        if code == "OK":
            return SendResult(ok=True, provider_message_id=str(data.get("BizId", "")), response=raw)
        retryable = False
        if code in _SIGNATURE_CODES:
            reason = _("Alibaba Cloud rejected the request signature: check the AccessKey secret.")
        elif code in _ACCESS_KEY_CODES:
            reason = _("Alibaba Cloud does not know this AccessKey ID, or it is disabled.")
        elif code in _PHONE_CODES:
            reason = _("Alibaba Cloud refused the phone number %(phone)s.") % {"phone": phone}
        elif code.startswith("InvalidTimeStamp"):
            reason = _("Alibaba Cloud rejected the request time: check this server's clock.")
        elif code in _CONFIG_CODES:
            reason = _(
                "Alibaba Cloud refused the channel settings (sign name, template or account)."
            )
        elif code in _RETRYABLE_CODES or code.startswith("Throttling"):
            retryable = True
            reason = _("Alibaba Cloud is limiting the sending rate; try again later.")
        else:
            retryable = status >= 500
            reason = _("Alibaba Cloud SMS refused the message.")
        return SendResult(
            ok=False,
            retryable=retryable,
            response=raw,
            error=_("%(reason)s (%(code)s: %(detail)s)")
            % {"reason": reason, "code": code, "detail": trim(str(data.get("Message", "")), 300)},
        )
