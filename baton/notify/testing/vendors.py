"""Local stand-ins for the notification vendors, for tests and demos.

Each server listens on 127.0.0.1 (port chosen by the OS), speaks the vendor's HTTP API at the
network boundary, verifies the vendor's signature scheme *independently* (the verification here
is written from the vendors' specifications and shares no code with the adapters), and answers
with the vendor's response shapes and error codes. Every request is recorded.

    with AliyunSmsServer(access_key_id="LTAI...", access_key_secret="s3cret") as server:
        adapter.send({"endpoint": server.url, ...}, {"access_key_secret": "s3cret"}, ...)
        [request] = server.received
        assert request.signature_ok

Knobs common to all servers:
- ``illegal_numbers``: phone numbers the vendor refuses (SMS) — any spelling, compared in
  E.164. Robots ignore unknown mentions like the real ones do; they note them instead.
- ``throttle``/``fail_next(n)``: answer the next n requests that pass authentication with the
  vendor's rate-limit error.
- ``clock``: the server's time (seconds since the epoch) for timestamp windows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

Clock = Callable[[], float]
Answer = tuple[int, dict[str, Any]]

_rng = random.SystemRandom()


@dataclass
class Received:
    """One request as the server saw it, and what it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)  # Alibaba Cloud: query + form body
    signature_ok: bool = False  # the vendor's authentication (signature, key, token) passed
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    code: str = ""  # the vendor's result code ("OK", "Ok", "0", "SignatureDoesNotMatch", ...)
    notes: dict[str, Any] = field(default_factory=dict)


def e164(number: str) -> str:
    """A number in E.164 for comparisons: 11-digit mainland numbers get +86."""
    cleaned = re.sub(r"[\s\-()]", "", number)
    if cleaned.startswith("+"):
        return cleaned
    if cleaned.startswith("00"):
        return "+" + cleaned[2:]
    if re.fullmatch(r"1\d{10}", cleaned):
        return "+86" + cleaned
    return "+" + cleaned


def _valid_e164(number: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return False
    return not number.startswith("+86") or bool(re.fullmatch(r"\+861[3-9]\d{9}", number))


class VendorServer:
    """Common machinery: the HTTP server thread, recording, the throttle knob."""

    host: ClassVar[str] = "127.0.0.1"

    def __init__(
        self,
        *,
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        self.illegal_numbers = {e164(number) for number in illegal_numbers}
        self.clock = clock
        self._throttle = throttle
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._httpd is not None:
            return
        handler = type("Handler", (_Handler,), {"vendor": self})
        self._httpd = ThreadingHTTPServer((self.host, 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The address to configure in the channel settings."""
        return self.base_url + "/"

    # -- knobs and records -------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def fail_next(self, count: int) -> None:
        """Answer the next `count` authenticated requests with the vendor's rate-limit error."""
        with self._lock:
            self._throttle = count

    def _throttled(self) -> bool:
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return True
            return False

    def _record(self, request: Received) -> None:
        with self._lock:
            self._received.append(request)

    def now(self) -> float:
        return self.clock()

    def handle(self, request: Received) -> Answer:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    vendor: ClassVar[VendorServer]
    server_version = "vendor-standin/1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Received(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            status, answer = self.vendor.handle(request)
        except Exception as exc:  # a bug in the stand-in must fail the test, not hang it
            status, answer = 500, {"standin_error": repr(exc)}
        request.status, request.answer = status, answer
        self.vendor._record(request)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _json_body(request: Received) -> Any:
    try:
        request.json = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        request.json = None
    return request.json


# =============================================================================================
# Alibaba Cloud SMS (dysmsapi, RPC style, signature v1)
# =============================================================================================


def aliyun_encode(text: str) -> str:
    """RFC 3986 percent-encoding: unreserved A-Z a-z 0-9 - _ . ~ kept, space as %20."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "-_.~"):
            out.append(char)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    pairs = sorted(
        (aliyun_encode(k), aliyun_encode(v)) for k, v in params.items() if k != "Signature"
    )
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join([method.upper(), aliyun_encode("/"), aliyun_encode(canonical)])


def aliyun_expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    mac = hmac.new(f"{secret}&".encode(), aliyun_string_to_sign(method, params).encode(), "sha1")
    return base64.b64encode(mac.digest()).decode()


class AliyunSmsServer(VendorServer):
    """dysmsapi `SendSms` (2017-05-25). Accepts GET (query) and POST (form body)."""

    TIMESTAMP_WINDOW = 15 * 60

    def __init__(
        self,
        *,
        access_key_id: str = "LTAI5tStandInKeyId",
        access_key_secret: str = "standin-access-key-secret",  # noqa: S107 - stand-in credentials
        sign_name: str | None = None,
        template_code: str | None = None,
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(illegal_numbers=illegal_numbers, throttle=throttle, clock=clock)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self._nonces: set[str] = set()

    def _error(self, request: Received, status: int, code: str, message: str) -> Answer:
        request.code = code
        return status, {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
        }

    def _biz(self, request: Received, code: str, message: str) -> Answer:
        request.code = code
        return 200, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}

    def handle(self, request: Received) -> Answer:
        params = dict(request.query)
        if request.method == "POST" and request.body:
            params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        request.form = params
        if request.path != "/":
            return self._error(
                request,
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        for name in (
            "Action",
            "AccessKeyId",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Version",
        ):
            if not params.get(name):
                return self._error(
                    request, 400, f"Missing{name}", f"{name} is mandatory for this action."
                )
        if params["Action"] != "SendSms":
            return self._error(
                request,
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        if params["Version"] != "2017-05-25":
            return self._error(
                request, 400, "InvalidVersion", "Specified parameter Version is not valid."
            )
        if params["AccessKeyId"] != self.access_key_id:
            return self._error(
                request, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return self._error(
                request,
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        try:
            sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC
            )
        except ValueError:
            return self._error(
                request,
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        if abs(sent_at.timestamp() - self.now()) > self.TIMESTAMP_WINDOW:
            return self._error(
                request,
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            )
        expected = aliyun_expected_signature(request.method, params, self.access_key_secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            return self._error(
                request,
                400,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation. Server string to sign is:"
                + aliyun_string_to_sign(request.method, params),
            )
        with self._lock:
            replayed = params["SignatureNonce"] in self._nonces
            self._nonces.add(params["SignatureNonce"])
        if replayed:
            return self._error(
                request, 400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        request.signature_ok = True
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._error(
                    request, 400, f"Missing{name}", f"{name} is mandatory for this action."
                )
        if self._throttled():
            return self._biz(request, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if self.sign_name is not None and params["SignName"] != self.sign_name:
            return self._biz(request, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if self.template_code is not None and params["TemplateCode"] != self.template_code:
            return self._biz(request, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        if "TemplateParam" in params:
            try:
                values = json.loads(params["TemplateParam"])
            except ValueError:
                values = None
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                return self._biz(
                    request, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
                )
        numbers = params["PhoneNumbers"].split(",")
        if len(numbers) > 1000:
            return self._biz(request, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        for number in numbers:
            # Mainland: 11 digits; elsewhere: country code + number, digits only (no "+").
            well_formed = re.fullmatch(r"1[3-9]\d{9}|[2-9]\d{6,14}|1\d{7,14}", number)
            if (
                not well_formed
                or not _valid_e164(e164(number))
                or e164(number) in self.illegal_numbers
            ):
                return self._biz(request, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        request.code = "OK"
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"{_rng.randrange(10**17, 10**18)}^0",
            "RequestId": str(uuid.uuid4()).upper(),
        }


# =============================================================================================
# Tencent Cloud SMS (API 2021-01-11, TC3-HMAC-SHA256)
# =============================================================================================

_TC3_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})"
    r"/(?P<service>[a-z0-9]+)/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;\-]+), "
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)
_ISO_CODES = {
    "86": "CN",
    "852": "HK",
    "853": "MO",
    "886": "TW",
    "1": "US",
    "65": "SG",
    "81": "JP",
    "82": "KR",
    "44": "GB",
    "49": "DE",
    "33": "FR",
    "61": "AU",
}


def tc3_expected_signature(
    *,
    secret_key: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
    timestamp: str,
    date: str,
    service: str,
) -> str:
    """The hex signature Tencent Cloud computes for a request (API 3.0 signature v3)."""
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    canonical_request = "\n".join(
        [
            method,
            path,
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), "sha256").digest()
    return hmac.new(key, string_to_sign.encode(), "sha256").hexdigest()


class TencentSmsServer(VendorServer):
    """sms.tencentcloudapi.com `SendSms` (2021-01-11). Tencent answers HTTP 200 throughout."""

    TIMESTAMP_WINDOW = 5 * 60
    REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})

    def __init__(
        self,
        *,
        secret_id: str = "AKIDStandInSecretId",  # noqa: S107 - stand-in credentials
        secret_key: str = "standin-secret-key",  # noqa: S107 - stand-in credentials
        sdk_app_id: str | None = None,
        sign_name: str | None = None,
        template_id: str | None = None,
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(illegal_numbers=illegal_numbers, throttle=throttle, clock=clock)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id

    def _error(self, request: Received, code: str, message: str) -> Answer:
        request.code = code
        return 200, {
            "Response": {
                "Error": {"Code": code, "Message": message},
                "RequestId": str(uuid.uuid4()),
            }
        }

    def _authenticate(self, request: Received) -> Answer | None:
        headers = request.headers
        match = _TC3_AUTH.match(headers.get("authorization", ""))
        if match is None:
            return self._error(
                request,
                "AuthFailure.InvalidAuthorization",
                "The `Authorization` header does not conform to the TC3 standard.",
            )
        if match["id"] != self.secret_id:
            return self._error(
                request,
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        timestamp = headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit():
            return self._error(request, "InvalidParameter", "The X-TC-Timestamp header is invalid.")
        if abs(int(timestamp) - self.now()) > self.TIMESTAMP_WINDOW:
            return self._error(
                request,
                "AuthFailure.SignatureExpire",
                "Signature expired. Timestamp and server time cannot differ by more than 5 "
                "minutes. Please ensure your current local time matches the standard time.",
            )
        signed = match["signed"].split(";")
        if "content-type" not in signed or "host" not in signed:
            return self._error(
                request,
                "AuthFailure.InvalidAuthorization",
                "SignedHeaders must include content-type and host.",
            )
        date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
        expected = tc3_expected_signature(
            secret_key=self.secret_key,
            method=request.method,
            path=request.path,
            query="" if request.method == "POST" else urlsplit(request.path).query,
            headers=headers,
            signed_headers=signed,
            body=request.body,
            timestamp=timestamp,
            date=date,
            service="sms",
        )
        if (
            match["date"] != date
            or match["service"] != "sms"
            or not hmac.compare_digest(expected, match["sig"])
        ):
            return self._error(
                request,
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature "
                "is correct.",
            )
        request.signature_ok = True
        return None

    def handle(self, request: Received) -> Answer:
        headers = request.headers
        action = headers.get("x-tc-action", "")
        if request.method != "POST":
            return self._error(request, "UnsupportedOperation", "Only POST is supported here.")
        if action != "SendSms":
            return self._error(request, "InvalidAction", f"The action `{action}` does not exist.")
        if headers.get("x-tc-version") != "2021-01-11":
            return self._error(
                request,
                "NoSuchVersion",
                f"The version `{headers.get('x-tc-version')}` does not exist.",
            )
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        region = headers.get("x-tc-region", "")
        if not region:
            return self._error(request, "MissingParameter", "The request is missing `Region`.")
        if region not in self.REGIONS:
            return self._error(
                request, "UnsupportedRegion", f"The region `{region}` is not supported."
            )
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error(
                request, "InvalidParameter", "The request body is not a JSON object."
            )
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not body.get(name):
                return self._error(
                    request,
                    "MissingParameter",
                    f"The request is missing a required parameter `{name}`.",
                )
        numbers = body["PhoneNumberSet"]
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            return self._error(
                request, "InvalidParameter", "PhoneNumberSet must be a list of strings."
            )
        if len(numbers) > 200:
            return self._error(
                request,
                "LimitExceeded.PhoneNumberCountLimit",
                "The number of phone numbers exceeds 200.",
            )
        if self.sdk_app_id is not None and str(body["SmsSdkAppId"]) != self.sdk_app_id:
            return self._error(
                request, "InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist."
            )
        if self.sign_name is not None and body.get("SignName") != self.sign_name:
            return self._error(
                request,
                "FailedOperation.SignatureIncorrectOrUnapproved",
                "The signature format is incorrect or the signature is not approved.",
            )
        if self.template_id is not None and str(body["TemplateId"]) != self.template_id:
            return self._error(
                request,
                "FailedOperation.TemplateIncorrectOrUnapproved",
                "The template format is incorrect or the template is not approved.",
            )
        params = body.get("TemplateParamSet", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return self._error(
                request,
                "InvalidParameterValue.TemplateParameterFormatError",
                "The template parameters must be strings.",
            )
        throttled = self._throttled()
        context = str(body.get("SessionContext", ""))
        statuses: list[dict[str, Any]] = []
        for number in numbers:
            normalised = e164(number)
            if throttled:
                code, message = (
                    "LimitExceeded.PhoneNumberThirtySecondLimit",
                    "The number of messages sent to this mobile number within "
                    "30 seconds exceeds the limit.",
                )
            elif not _valid_e164(normalised) or normalised in self.illegal_numbers:
                code, message = (
                    "InvalidParameterValue.IncorrectPhoneNumber",
                    "Incorrect mobile number format.",
                )
            else:
                code, message = "Ok", "send success"
            iso = next(
                (
                    iso
                    for prefix, iso in sorted(_ISO_CODES.items(), key=lambda i: -len(i[0]))
                    if normalised.startswith("+" + prefix)
                ),
                "DEF",
            )
            ok = code == "Ok"
            statuses.append(
                {
                    "SerialNo": f"{_rng.randrange(1000, 9999)}:{_rng.randrange(10**18, 10**19)}"
                    if ok
                    else "",
                    "PhoneNumber": normalised,
                    "Fee": 1 if ok else 0,
                    "SessionContext": context,
                    "Code": code,
                    "Message": message,
                    "IsoCode": iso,
                }
            )
        request.code = statuses[0]["Code"]
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}


# =============================================================================================
# Group robots: WeCom, DingTalk, Feishu
# =============================================================================================


def _mentions(request: Received, mobiles: Any, known: set[str] | None) -> None:
    """Robots silently ignore mobiles that are not group members; note them for tests."""
    listed = [str(m) for m in mobiles] if isinstance(mobiles, list) else []
    request.notes["mentioned"] = listed
    if known is not None:
        request.notes["ignored_mentions"] = [m for m in listed if e164(m) not in known]


class WeComRobotServer(VendorServer):
    """qyapi.weixin.qq.com `/cgi-bin/webhook/send?key=KEY`."""

    PATH = "/cgi-bin/webhook/send"
    LIMITS: ClassVar[dict[str, int]] = {"text": 2048, "markdown": 4096}

    def __init__(
        self,
        *,
        key: str = "standin-robot-key",
        members: Iterable[str] | None = None,
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(illegal_numbers=illegal_numbers, throttle=throttle, clock=clock)
        self.key = key
        self.members = None if members is None else {e164(m) for m in members}

    @property
    def url(self) -> str:
        return self.base_url + self.PATH

    def _answer(self, request: Received, code: int, message: str) -> Answer:
        request.code = str(code)
        if code:
            message += f", more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
        return 200, {"errcode": code, "errmsg": message}

    def handle(self, request: Received) -> Answer:
        if request.path != self.PATH or request.method != "POST":
            request.code = "404"
            return 404, {"errcode": 404, "errmsg": "not found"}
        if not hmac.compare_digest(request.query.get("key", "").encode(), self.key.encode()):
            return self._answer(
                request, 93000, "invalid webhook url, hint: [standin], from ip: 127.0.0.1"
            )
        request.signature_ok = True
        if self._throttled():
            return self._answer(request, 45009, "api freq out of limit, hint: [standin]")
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._answer(request, 40058, "invalid Request Parameter, hint: [standin]")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown", "image", "news", "file", "template_card"):
            return self._answer(request, 40008, "invalid message type, hint: [standin]")
        if msgtype in self.LIMITS:
            part = body.get(str(msgtype))
            content = part.get("content") if isinstance(part, dict) else None
            if not isinstance(content, str) or not content:
                return self._answer(request, 44004, "empty content, hint: [standin]")
            if len(content.encode()) > self.LIMITS[str(msgtype)]:
                return self._answer(
                    request,
                    40058,
                    f"{msgtype}.content exceed max length {self.LIMITS[str(msgtype)]}",
                )
            if msgtype == "text" and isinstance(part, dict):
                _mentions(request, part.get("mentioned_mobile_list", []), self.members)
        return self._answer(request, 0, "ok")


class DingTalkRobotServer(VendorServer):
    """oapi.dingtalk.com `/robot/send?access_token=T&timestamp=MS&sign=S` (加签)."""

    PATH = "/robot/send"
    TIMESTAMP_WINDOW_MS = 60 * 60 * 1000
    MORE = ", more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"

    def __init__(
        self,
        *,
        access_token: str = "standin-access-token",  # noqa: S107 - stand-in credentials
        sign_secret: str | None = "SECstandin-sign-secret",  # noqa: S107 - stand-in credentials
        keywords: Iterable[str] = (),
        members: Iterable[str] | None = None,
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(illegal_numbers=illegal_numbers, throttle=throttle, clock=clock)
        self.access_token = access_token
        self.sign_secret = sign_secret
        self.keywords = tuple(keywords)
        self.members = None if members is None else {e164(m) for m in members}

    @property
    def url(self) -> str:
        return self.base_url + self.PATH

    def _answer(self, request: Received, code: int, message: str) -> Answer:
        request.code = str(code)
        return 200, {"errcode": code, "errmsg": message}

    def handle(self, request: Received) -> Answer:
        if request.path != self.PATH or request.method != "POST":
            return self._answer(request, 404, "请求的URI地址不存在")
        if not hmac.compare_digest(
            request.query.get("access_token", "").encode(), self.access_token.encode()
        ):
            return self._answer(request, 300001, "token is not exist")
        if self.sign_secret is not None:
            timestamp, signature = request.query.get("timestamp", ""), request.query.get("sign", "")
            if (
                not timestamp.isdigit()
                or abs(int(timestamp) - self.now() * 1000) > self.TIMESTAMP_WINDOW_MS
            ):
                return self._answer(request, 310000, "invalid timestamp" + self.MORE)
            # The query string was URL-decoded once already: `signature` is the base64 text.
            mac = hmac.new(
                self.sign_secret.encode(), f"{timestamp}\n{self.sign_secret}".encode(), "sha256"
            )
            if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), signature):
                return self._answer(request, 310000, "sign not match" + self.MORE)
        request.signature_ok = True
        if self._throttled():
            return self._answer(
                request, 130101, "send too fast, exceed 20 times per minute" + self.MORE
            )
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._answer(request, 40035, "缺少参数 json")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown", "link", "actionCard", "feedCard"):
            return self._answer(request, 40035, "缺少参数 msgtype")
        part = body.get(str(msgtype))
        if not isinstance(part, dict):
            return self._answer(request, 40035, f"缺少参数 {msgtype}")
        if msgtype == "markdown" and not (part.get("title") and part.get("text")):
            return self._answer(request, 40035, "缺少参数 markdown")
        if msgtype == "text" and not part.get("content"):
            return self._answer(request, 40035, "缺少参数 text")
        searchable = json.dumps(part, ensure_ascii=False)
        if self.keywords and not any(word in searchable for word in self.keywords):
            return self._answer(request, 310000, "keywords not in content" + self.MORE)
        at = body.get("at")
        _mentions(request, at.get("atMobiles") if isinstance(at, dict) else [], self.members)
        return self._answer(request, 0, "ok")


class FeishuBotServer(VendorServer):
    """open.feishu.cn `/open-apis/bot/v2/hook/<hook id>` with signature verification."""

    PREFIX = "/open-apis/bot/v2/hook/"
    TIMESTAMP_WINDOW = 60 * 60
    MSG_TYPES = frozenset({"text", "post", "image", "share_chat", "interactive"})

    def __init__(
        self,
        *,
        hook_id: str = "00000000-0000-4000-8000-standin0hook",
        sign_secret: str | None = "standin-sign-secret",  # noqa: S107 - stand-in credentials
        keywords: Iterable[str] = (),
        illegal_numbers: Iterable[str] = (),
        throttle: int = 0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(illegal_numbers=illegal_numbers, throttle=throttle, clock=clock)
        self.hook_id = hook_id
        self.sign_secret = sign_secret
        self.keywords = tuple(keywords)

    @property
    def url(self) -> str:
        return self.base_url + self.PREFIX + self.hook_id

    def _answer(self, request: Received, code: int, message: str, status: int = 200) -> Answer:
        request.code = str(code)
        return status, {"code": code, "data": {}, "msg": message}

    def handle(self, request: Received) -> Answer:
        if not request.path.startswith(self.PREFIX) or request.method != "POST":
            return self._answer(request, 404, "page not found", status=404)
        if not hmac.compare_digest(
            request.path[len(self.PREFIX) :].encode(), self.hook_id.encode()
        ):
            return self._answer(
                request, 19001, "param invalid: incoming webhook access token invalid"
            )
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._answer(request, 9499, "Bad Request", status=400)
        if self.sign_secret is not None:
            timestamp, signature = str(body.get("timestamp", "")), str(body.get("sign", ""))
            mac = hmac.new(f"{timestamp}\n{self.sign_secret}".encode(), b"", "sha256")
            fresh = (
                timestamp.isdigit() and abs(int(timestamp) - self.now()) <= self.TIMESTAMP_WINDOW
            )
            if not fresh or not hmac.compare_digest(
                base64.b64encode(mac.digest()).decode(), signature
            ):
                return self._answer(
                    request,
                    19021,
                    "sign match fail or timestamp is not within one hour from current time",
                )
        request.signature_ok = True
        if self._throttled():
            return self._answer(
                request, 11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[-1]"
            )
        msg_type = body.get("msg_type")
        content = body.get("content") if msg_type != "interactive" else body.get("card")
        if msg_type not in self.MSG_TYPES or not isinstance(content, dict):
            return self._answer(request, 19002, "params error, msg_type need")
        if msg_type == "text" and not content.get("text"):
            return self._answer(request, 9499, "Bad Request", status=400)
        if msg_type == "post":
            post = content.get("post")
            if (
                not isinstance(post, dict)
                or not post
                or not all(
                    isinstance(v, dict) and isinstance(v.get("content"), list)
                    for v in post.values()
                )
            ):
                return self._answer(request, 9499, "Bad Request", status=400)
        searchable = json.dumps(content, ensure_ascii=False)
        if self.keywords and not any(word in searchable for word in self.keywords):
            return self._answer(request, 19024, "Key Words Not Found")
        return self._answer(request, 0, "success")


__all__ = [
    "AliyunSmsServer",
    "DingTalkRobotServer",
    "FeishuBotServer",
    "Received",
    "TencentSmsServer",
    "VendorServer",
    "WeComRobotServer",
    "aliyun_expected_signature",
    "aliyun_string_to_sign",
    "e164",
    "tc3_expected_signature",
]
