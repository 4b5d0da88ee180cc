"""Feishu / Lark custom bot with signature verification (签名校验).

POST {url} (https://open.feishu.cn/open-apis/bot/v2/hook/<hook-id>) with
{"timestamp": "<seconds>", "sign": base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")),
"msg_type": "post", "content": {...}}; Feishu accepts the timestamp for one hour. The message
is a rich-text post: title, text, link and a line naming the recipient (a custom bot can only
@-mention by open_id, which a phone number does not give).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baton.notify.channels.base import (
    ConfigError,
    Message,
    Recipient,
    SendResult,
    parse_json,
    post,
    require,
    trim,
    unexpected,
    url_destination,
)

HOOK_PREFIX = "/open-apis/bot/v2/hook/"
SERVICE = "Feishu"
TEXT_LIMIT = 5000  # characters; Feishu caps the request body at 20 KB

_SIGN_CODES = frozenset({19021})
_HOOK_CODES = frozenset({19001, 19002, 19007})  # hook invalid / bot removed or not in the chat
_RETRYABLE_CODES = frozenset({11232, 9999, -1})  # frequency limited, system busy


def now() -> float:
    """The clock used for the signed timestamp; tests replace it."""
    return time.time()


def sign(timestamp: int, secret: str) -> str:
    """base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), as Feishu specifies."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class FeishuAdapter:
    kind: ClassVar[str] = "feishu"
    label = gettext_lazy("Feishu / Lark bot")
    setting_fields: ClassVar[tuple[str, ...]] = ("url",)
    secret_fields: ClassVar[tuple[str, ...]] = ("sign_secret",)

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return [url_destination("url", str(settings.get("url", "")).strip())]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        require(settings, secrets, self)
        url = str(settings.get("url", "")).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                _("“%(field)s” must be an http:// or https:// URL.") % {"field": "url"}, "url"
            )
        if not parts.path.startswith(HOOK_PREFIX) or len(parts.path) <= len(HOOK_PREFIX):
            raise ConfigError(
                _("“%(field)s” must be the bot's webhook address (…%(prefix)s<hook id>).")
                % {"field": "url", "prefix": HOOK_PREFIX},
                "url",
            )

    def build_body(self, recipient: Recipient, message: Message) -> dict[str, Any]:
        lines: list[list[dict[str, str]]] = []
        for paragraph in message.text[:TEXT_LIMIT].split("\n"):
            lines.append([{"tag": "text", "text": paragraph}])
        if message.link:
            lines.append([{"tag": "a", "text": message.link, "href": message.link}])
        if recipient.name:
            lines.append([{"tag": "text", "text": _("For %(name)s") % {"name": recipient.name}}])
        locale = "en_us" if recipient.language.lower().startswith("en") else "zh_cn"
        title = message.subject or message.short
        return {
            "msg_type": "post",
            "content": {"post": {locale: {"title": title, "content": lines}}},
        }

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult:
        timestamp = int(now())
        body = {
            "timestamp": str(timestamp),
            "sign": sign(timestamp, str(secrets.get("sign_secret", "")).strip()),
            **self.build_body(recipient, message),
        }
        response = post(
            SERVICE,
            str(settings.get("url", "")).strip(),
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if isinstance(response, SendResult):
            return response
        return self.interpret(response.status_code, response.text)

    def interpret(self, status: int, text: str) -> SendResult:
        raw = trim(text)
        data = parse_json(text)
        code: Any = None
        if isinstance(data, dict):
            # Current answers carry code/msg; older hooks answered StatusCode/StatusMessage.
            code = data.get("code", data.get("StatusCode"))
        if not isinstance(code, int):
            return unexpected(SERVICE, status, text)
        assert isinstance(data, dict)
        detail = str(data.get("msg", data.get("StatusMessage", "")))
        if code == 0:
            return SendResult(ok=True, response=raw)
        retryable = False
        if code in _SIGN_CODES:
            reason = _(
                "Feishu rejected the request signature or its timestamp: check the signing "
                "secret and this server's clock."
            )
        elif code == 19024:
            reason = _("Feishu refused the message: it contains none of the bot's keywords.")
        elif code == 19022:
            reason = _("Feishu refused this server's IP address (bot IP allow-list).")
        elif code in _HOOK_CODES:
            reason = _("Feishu does not know this webhook: check the bot's webhook address.")
        elif code in _RETRYABLE_CODES:
            retryable = True
            reason = _("Feishu is limiting the bot's sending rate; try again later.")
        else:
            retryable = status >= 500
            reason = _("Feishu refused the message.")
        return SendResult(
            ok=False,
            retryable=retryable,
            response=raw,
            error=_("%(reason)s (code %(code)s: %(detail)s)")
            % {"reason": reason, "code": code, "detail": trim(detail, 300)},
        )
