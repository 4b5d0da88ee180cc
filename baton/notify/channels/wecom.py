"""WeCom (企业微信) group robot webhook.

POST {url}?key={key} with a JSON message. When the recipient's mobile number is known the
robot sends a text message that @-mentions them (`mentioned_mobile_list`; markdown messages
cannot mention by mobile); otherwise a markdown message naming them.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baton.notify.channels.base import (
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

DEFAULT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
SERVICE = "WeCom"
# Byte limits of the robot API (UTF-8).
TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096

_KEY_CODES = frozenset({93000, 93004, 93008})  # invalid webhook url/key, robot removed/disabled
_RETRYABLE_CODES = frozenset({45009, 45033, -1})  # frequency limit, too many calls, system busy


def truncate_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def robot_mobile(raw: str) -> str:
    """The mobile number as WeCom/DingTalk store it (mainland without +86), or "" if unusable."""
    if not raw:
        return ""
    try:
        e164 = normalize_phone(raw)
    except PhoneError:
        return ""
    return e164[3:] if e164.startswith("+86") else e164


class WeComAdapter:
    kind: ClassVar[str] = "wecom"
    label = gettext_lazy("WeCom group robot")
    setting_fields: ClassVar[tuple[str, ...]] = ("url",)
    secret_fields: ClassVar[tuple[str, ...]] = ("key",)

    def _url(self, settings: dict[str, Any]) -> str:
        return str(settings.get("url") or "").strip() or DEFAULT_URL

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return [url_destination("url", self._url(settings))]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        url = self._url(settings)
        require({**settings, "url": url}, secrets, self)
        check_url(url, "url")

    def build_body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        mobile = robot_mobile(recipient.phone)
        if mobile:
            lines = [message.subject, message.text, message.link]
            content = "\n".join(line for line in lines if line)
            return {
                "msgtype": "text",
                "text": {
                    "content": truncate_bytes(content, TEXT_LIMIT),
                    "mentioned_mobile_list": [mobile],
                },
            }
        parts = [f"**{message.subject}**" if message.subject else "", message.text]
        if message.link:
            parts.append(f"[{message.link}]({message.link})")
        if recipient.name:
            parts.append(
                '<font color="comment">%s</font>' % (_("For %(name)s") % {"name": recipient.name})
            )
        content = "\n".join(part for part in parts if part)
        return {
            "msgtype": "markdown",
            "markdown": {"content": truncate_bytes(content, MARKDOWN_LIMIT)},
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
            params={"key": str(secrets.get("key", "")).strip()},
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
        if code == 0:
            return SendResult(ok=True, response=raw)
        retryable = False
        if code in _KEY_CODES:
            reason = _("WeCom rejected the webhook key: check the robot's key.")
        elif code in _RETRYABLE_CODES:
            retryable = True
            reason = _("WeCom is limiting the robot's sending rate; try again later.")
        else:
            reason = _("WeCom refused the message.")
        return SendResult(
            ok=False,
            retryable=retryable,
            response=raw,
            error=_("%(reason)s (errcode %(code)s: %(detail)s)")
            % {"reason": reason, "code": code, "detail": trim(str(data.get("errmsg", "")), 300)},
        )
