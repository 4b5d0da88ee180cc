"""DingTalk (钉钉) custom group robot with signing (加签).

POST {url}?access_token=T&timestamp=MS&sign=S where
S = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{MS}\\n{secret}"))); DingTalk accepts the
timestamp for one hour. The message is markdown; the recipient is @-mentioned by mobile
(`at.atMobiles` plus "@mobile" in the text, which DingTalk requires for the mention to show).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

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

DEFAULT_URL = "https://oapi.dingtalk.com/robot/send"
SERVICE = "DingTalk"
TEXT_LIMIT = 5000  # characters of markdown text; DingTalk caps the whole body at 20 KB

_TOKEN_CODES = frozenset({300001, 300005, 400101, 400102, 400105})  # token unknown, robot off
_RETRYABLE_CODES = frozenset({130101, 410100, -1})  # send too fast, rate limited, system busy


def now() -> float:
    """The clock used for the signed timestamp; tests replace it."""
    return time.time()


def sign(timestamp_ms: int, secret: str) -> str:
    """base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")); URL-encoding is left to the
    query string encoder."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def robot_mobile(raw: str) -> str:
    """The mobile number as DingTalk stores it (mainland without +86), or "" if unusable."""
    if not raw:
        return ""
    try:
        e164 = normalize_phone(raw)
    except PhoneError:
        return ""
    return e164[3:] if e164.startswith("+86") else e164


class DingTalkAdapter:
    kind: ClassVar[str] = "dingtalk"
    label = gettext_lazy("DingTalk group robot")
    setting_fields: ClassVar[tuple[str, ...]] = ("url",)
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "sign_secret")

    def _url(self, settings: dict[str, Any]) -> str:
        return str(settings.get("url") or "").strip() or DEFAULT_URL

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return [url_destination("url", self._url(settings))]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        url = self._url(settings)
        require({**settings, "url": url}, secrets, self)
        check_url(url, "url")
        if not str(secrets.get("sign_secret", "")).strip().startswith("SEC"):
            raise ConfigError(
                _("“%(field)s” must be the robot's signing secret (it starts with SEC).")
                % {"field": "sign_secret"},
                "sign_secret",
            )

    def build_body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        mobile = robot_mobile(recipient.phone)
        title = message.short or message.subject or message.text[:40]
        parts = [f"#### {message.subject}" if message.subject else "", message.text[:TEXT_LIMIT]]
        if message.link:
            parts.append(f"[{message.link}]({message.link})")
        if mobile:
            parts.append(f"@{mobile} {recipient.name}".rstrip())
        elif recipient.name:
            parts.append(_("For %(name)s") % {"name": recipient.name})
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": "\n\n".join(part for part in parts if part)},
            "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": False},
        }

    def signed_params(self, secrets: dict[str, str]) -> dict[str, str]:
        timestamp = int(now() * 1000)
        return {
            "access_token": str(secrets.get("access_token", "")).strip(),
            "timestamp": str(timestamp),
            "sign": sign(timestamp, str(secrets.get("sign_secret", "")).strip()),
        }

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult:
        body = self.build_body(recipient, message)
        response = post(
            SERVICE,
            self._url(settings),
            params=self.signed_params(secrets),
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if isinstance(response, SendResult):
            return response
        return self.interpret(response.status_code, response.text)

    def interpret(self, status: int, text: str) -> SendResult:
        raw = trim(text)
        data = parse_json(text)
        if not isinstance(data, dict) or not isinstance(data.get("errcode"), int):
            return unexpected(SERVICE, status, text)
        code: int = data["errcode"]
        detail = str(data.get("errmsg", ""))
        if code == 0:
            return SendResult(ok=True, response=raw)
        retryable = False
        if code == 310000:
            # One code for several refusals; errmsg tells which.
            lowered = detail.lower()
            if "keyword" in lowered:
                reason = _(
                    "DingTalk refused the message: it contains none of the robot's keywords."
                )
            elif "timestamp" in lowered:
                reason = _("DingTalk rejected the signed timestamp: check this server's clock.")
            elif "whitelist" in lowered or " ip " in f" {lowered} ":
                reason = _("DingTalk refused this server's IP address (robot IP allow-list).")
            else:
                reason = _("DingTalk rejected the request signature: check the signing secret.")
        elif code in _TOKEN_CODES:
            reason = _("DingTalk rejected the access token: check the robot's webhook token.")
        elif code in _RETRYABLE_CODES:
            retryable = True
            reason = _("DingTalk is limiting the robot's sending rate; try again later.")
        else:
            reason = _("DingTalk refused the message.")
        return SendResult(
            ok=False,
            retryable=retryable,
            response=raw,
            error=_("%(reason)s (errcode %(code)s: %(detail)s)")
            % {"reason": reason, "code": code, "detail": trim(detail, 300)},
        )
