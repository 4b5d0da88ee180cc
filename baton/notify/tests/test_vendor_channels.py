"""The vendor adapters against local stand-ins that verify the vendors' real signature schemes."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from baton.notify.channels import aliyun_sms, dingtalk, feishu, tencent_sms, wecom
from baton.notify.channels.aliyun_sms import AliyunSmsAdapter
from baton.notify.channels.base import (
    Adapter,
    ConfigError,
    Message,
    PhoneError,
    Recipient,
    internal_destinations,
    normalize_phone,
)
from baton.notify.channels.dingtalk import DingTalkAdapter
from baton.notify.channels.feishu import FeishuAdapter
from baton.notify.channels.tencent_sms import TencentSmsAdapter
from baton.notify.channels.wecom import WeComAdapter
from baton.notify.testing.vendors import (
    AliyunSmsServer,
    DingTalkRobotServer,
    FeishuBotServer,
    TencentSmsServer,
    WeComRobotServer,
    aliyun_expected_signature,
    tc3_expected_signature,
)

pytestmark = pytest.mark.smoke

ALICE = Recipient(user_id=7, name="王小明", phone="138 0013 8000")
NO_PHONE = Recipient(user_id=8, name="Li Lei")
MESSAGE = Message(
    idempotency_key="dlv-42-attempt-stable",
    subject="交接提醒 Handover due",
    text="请在 3 月 1 日前完成交接。\nPlease finish the handover by 1 March.",
    short="交接提醒",
    template_params={"name": "王小明", "date": "2026-03-01", "code": "A&B 1+1=2*"},
    link="https://baton.example.com/handover/42",
)


@pytest.fixture(autouse=True)
def _stand_ins_are_internal() -> Iterator[None]:
    """The stand-ins listen on 127.0.0.1: these adapters are called as for a channel a group
    administrator marked internal (without it the outbound guard refuses 127.0.0.1; see
    test_outbound_guard.py)."""
    with internal_destinations(True):
        yield


@pytest.fixture
def closed_url() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ------------------------------------------------------------------------------------------
# normalize_phone
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+852 9123 4567", "+85291234567"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "1380013800", "+8612345678", "phone", "+0123456789"])
def test_normalize_phone_rejects(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalize_phone(raw)


# ------------------------------------------------------------------------------------------
# Alibaba Cloud SMS
# ------------------------------------------------------------------------------------------

ALIYUN_SECRETS = {"access_key_secret": "standin-access-key-secret"}


def aliyun_settings(server: AliyunSmsServer | None = None, **extra: str) -> dict[str, str]:
    return {
        "endpoint": server.url if server else aliyun_sms.DEFAULT_ENDPOINT,
        "access_key_id": "LTAI5tStandInKeyId",
        "sign_name": "接力",
        "template_code": "SMS_154950909",
        **extra,
    }


@pytest.fixture
def aliyun() -> Iterator[AliyunSmsServer]:
    with AliyunSmsServer(
        access_key_id="LTAI5tStandInKeyId",
        access_key_secret=ALIYUN_SECRETS["access_key_secret"],
        sign_name="接力",
        template_code="SMS_154950909",
        illegal_numbers=["+8613900000000"],
    ) as server:
        yield server


def test_aliyun_signature_matches_documented_example() -> None:
    # Alibaba Cloud's "RPC signature mechanism" example (DescribeRegions, secret testsecret).
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_sms.sign("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert aliyun_expected_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert aliyun_sms.percent_encode("a b*c~d+é") == "a%20b%2Ac~d%2B%C3%A9"


def test_aliyun_send(aliyun: AliyunSmsServer) -> None:
    result = AliyunSmsAdapter().send(aliyun_settings(aliyun), ALIYUN_SECRETS, ALICE, MESSAGE)

    assert result.ok, result.error
    [request] = aliyun.received
    assert request.signature_ok
    assert request.method == "POST"
    form = request.form
    assert form["Action"] == "SendSms"
    assert form["Version"] == "2017-05-25"
    assert form["Format"] == "JSON"
    assert form["RegionId"] == "cn-hangzhou"
    assert form["SignatureMethod"] == "HMAC-SHA1"
    assert form["SignatureVersion"] == "1.0"
    assert form["PhoneNumbers"] == "13800138000"
    assert form["SignName"] == "接力"
    assert form["TemplateCode"] == "SMS_154950909"
    assert json.loads(form["TemplateParam"]) == MESSAGE.template_params
    assert form["OutId"] == MESSAGE.idempotency_key
    assert result.provider_message_id == request.answer["BizId"]
    assert result.provider_message_id.endswith("^0")
    assert '"Code":"OK"' in result.response.replace(" ", "")


def test_aliyun_international_number_goes_without_plus(aliyun: AliyunSmsServer) -> None:
    hk = Recipient(user_id=1, name="Chan", phone="+852 9123 4567")
    result = AliyunSmsAdapter().send(
        aliyun_settings(aliyun, region_id="cn-shanghai"), ALIYUN_SECRETS, hk, MESSAGE
    )
    assert result.ok, result.error
    [request] = aliyun.received
    assert request.form["PhoneNumbers"] == "85291234567"
    assert request.form["RegionId"] == "cn-shanghai"


def test_aliyun_wrong_secret(aliyun: AliyunSmsServer) -> None:
    result = AliyunSmsAdapter().send(
        aliyun_settings(aliyun), {"access_key_secret": "not-the-secret"}, ALICE, MESSAGE
    )
    assert not result.ok
    assert not result.retryable
    assert "signature" in result.error.lower()
    assert "SignatureDoesNotMatch" in result.error
    [request] = aliyun.received
    assert not request.signature_ok
    assert request.status == 400


def test_aliyun_unknown_access_key(aliyun: AliyunSmsServer) -> None:
    result = AliyunSmsAdapter().send(
        aliyun_settings(aliyun, access_key_id="LTAIunknown"), ALIYUN_SECRETS, ALICE, MESSAGE
    )
    assert not result.ok and not result.retryable
    assert "InvalidAccessKeyId.NotFound" in result.error


def test_aliyun_illegal_number(aliyun: AliyunSmsServer) -> None:
    bad = Recipient(user_id=2, name="Nobody", phone="13900000000")
    result = AliyunSmsAdapter().send(aliyun_settings(aliyun), ALIYUN_SECRETS, bad, MESSAGE)
    assert not result.ok
    assert not result.retryable
    assert "isv.MOBILE_NUMBER_ILLEGAL" in result.error
    assert "13900000000" in result.error
    assert aliyun.received[0].signature_ok


def test_aliyun_unknown_template(aliyun: AliyunSmsServer) -> None:
    result = AliyunSmsAdapter().send(
        aliyun_settings(aliyun, template_code="SMS_0"), ALIYUN_SECRETS, ALICE, MESSAGE
    )
    assert not result.ok and not result.retryable
    assert "isv.SMS_TEMPLATE_ILLEGAL" in result.error


def test_aliyun_throttled_then_ok(aliyun: AliyunSmsServer) -> None:
    aliyun.fail_next(1)
    adapter = AliyunSmsAdapter()
    first = adapter.send(aliyun_settings(aliyun), ALIYUN_SECRETS, ALICE, MESSAGE)
    assert not first.ok
    assert first.retryable
    assert "isv.BUSINESS_LIMIT_CONTROL" in first.error
    second = adapter.send(aliyun_settings(aliyun), ALIYUN_SECRETS, ALICE, MESSAGE)
    assert second.ok
    # The retry carries the same correlation id.
    assert [r.form["OutId"] for r in aliyun.received] == [MESSAGE.idempotency_key] * 2


def test_aliyun_stale_clock(aliyun: AliyunSmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aliyun_sms, "now", lambda: time.time() - 3600)
    result = AliyunSmsAdapter().send(aliyun_settings(aliyun), ALIYUN_SECRETS, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "InvalidTimeStamp.Expired" in result.error


def test_aliyun_server_rejects_tampered_and_replayed_requests(aliyun: AliyunSmsServer) -> None:
    assert AliyunSmsAdapter().send(aliyun_settings(aliyun), ALIYUN_SECRETS, ALICE, MESSAGE).ok
    [original] = aliyun.received
    fields = dict(parse_qsl(original.body.decode(), keep_blank_values=True))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(trust_env=False) as client:
        tampered = {**fields, "PhoneNumbers": "13700137000"}
        answer = client.post(aliyun.url, content=urlencode(tampered), headers=headers)
        assert answer.status_code == 400
        assert answer.json()["Code"] == "SignatureDoesNotMatch"
        # The untouched request again: the nonce was used already.
        replay = client.post(aliyun.url, content=original.body, headers=headers)
        assert replay.status_code == 400
        assert replay.json()["Code"] == "SignatureNonceUsed"
    assert [r.signature_ok for r in aliyun.received] == [True, False, False]


def test_aliyun_server_accepts_a_signed_get() -> None:
    # The stand-in follows the spec, not the adapter: a GET signed per the docs passes too.
    with AliyunSmsServer(access_key_id="testid", access_key_secret="testsecret") as server:
        params = {
            "AccessKeyId": "testid",
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": "13800138000",
            "SignName": "sign",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": "nonce-1",
            "SignatureVersion": "1.0",
            "TemplateCode": "SMS_1",
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_sms.sign("GET", params, "testsecret")
        answer = httpx.get(server.url, params=params, trust_env=False)
    assert answer.json()["Code"] == "OK"


def test_aliyun_bad_local_phone_is_not_sent(aliyun: AliyunSmsServer) -> None:
    bad = Recipient(user_id=3, name="Typo", phone="12345")
    result = AliyunSmsAdapter().send(aliyun_settings(aliyun), ALIYUN_SECRETS, bad, MESSAGE)
    assert not result.ok and not result.retryable
    assert "12345" in result.error
    assert aliyun.received == []


# ------------------------------------------------------------------------------------------
# Tencent Cloud SMS
# ------------------------------------------------------------------------------------------

TENCENT_SECRETS = {"secret_key": "standin-secret-key"}


def tencent_settings(server: TencentSmsServer | None = None, **extra: str) -> dict[str, str]:
    return {
        "endpoint": server.url if server else tencent_sms.DEFAULT_ENDPOINT,
        "secret_id": "AKIDStandInSecretId",
        "sdk_app_id": "1400006666",
        "sign_name": "接力",
        "template_id": "1110",
        **extra,
    }


@pytest.fixture
def tencent() -> Iterator[TencentSmsServer]:
    with TencentSmsServer(
        secret_id="AKIDStandInSecretId",
        secret_key=TENCENT_SECRETS["secret_key"],
        sdk_app_id="1400006666",
        sign_name="接力",
        template_id="1110",
        illegal_numbers=["13900000000"],
    ) as server:
        yield server


def test_tencent_signature_matches_documented_example() -> None:
    # Tencent Cloud API 3.0 "signature v3" example (CVM DescribeInstances, 2019-02-25).
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    expected = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    header = tencent_sms.authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        f"tc3_request, SignedHeaders=content-type;host, Signature={expected}"
    )
    assert (
        tc3_expected_signature(
            secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            method="POST",
            path="/",
            query="",
            headers={
                "content-type": "application/json; charset=utf-8",
                "host": "cvm.tencentcloudapi.com",
            },
            signed_headers=["content-type", "host"],
            body=payload,
            timestamp="1551113065",
            date="2019-02-25",
            service="cvm",
        )
        == expected
    )


def test_tencent_send(tencent: TencentSmsServer) -> None:
    result = TencentSmsAdapter().send(tencent_settings(tencent), TENCENT_SECRETS, ALICE, MESSAGE)

    assert result.ok, result.error
    [request] = tencent.received
    assert request.signature_ok
    headers = request.headers
    assert headers["x-tc-action"] == "SendSms"
    assert headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert headers["host"] == f"127.0.0.1:{tencent.port}"
    assert headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDStandInSecretId/")
    assert "/sms/tc3_request, SignedHeaders=content-type;host, " in headers["authorization"]
    body = request.json
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["SmsSdkAppId"] == "1400006666"
    assert body["SignName"] == "接力"
    assert body["TemplateId"] == "1110"
    assert body["TemplateParamSet"] == ["王小明", "2026-03-01", "A&B 1+1=2*"]
    assert body["SessionContext"] == MESSAGE.idempotency_key
    status = request.answer["Response"]["SendStatusSet"][0]
    assert status["SessionContext"] == MESSAGE.idempotency_key
    assert status["IsoCode"] == "CN"
    assert result.provider_message_id == status["SerialNo"] != ""


def test_tencent_wrong_secret(tencent: TencentSmsServer) -> None:
    result = TencentSmsAdapter().send(
        tencent_settings(tencent), {"secret_key": "not-the-key"}, ALICE, MESSAGE
    )
    assert not result.ok
    assert not result.retryable
    assert "signature" in result.error.lower()
    assert "AuthFailure.SignatureFailure" in result.error
    assert not tencent.received[0].signature_ok


def test_tencent_unknown_secret_id(tencent: TencentSmsServer) -> None:
    result = TencentSmsAdapter().send(
        tencent_settings(tencent, secret_id="AKIDunknown"), TENCENT_SECRETS, ALICE, MESSAGE
    )
    assert not result.ok and not result.retryable
    assert "AuthFailure.SecretIdNotFound" in result.error


def test_tencent_illegal_number(tencent: TencentSmsServer) -> None:
    bad = Recipient(user_id=2, name="Nobody", phone="+86 139 0000 0000")
    result = TencentSmsAdapter().send(tencent_settings(tencent), TENCENT_SECRETS, bad, MESSAGE)
    assert not result.ok
    assert not result.retryable
    assert "InvalidParameterValue.IncorrectPhoneNumber" in result.error
    assert "+8613900000000" in result.error


def test_tencent_throttled_then_ok(tencent: TencentSmsServer) -> None:
    tencent.fail_next(1)
    adapter = TencentSmsAdapter()
    first = adapter.send(tencent_settings(tencent), TENCENT_SECRETS, ALICE, MESSAGE)
    assert not first.ok
    assert first.retryable
    assert "LimitExceeded" in first.error
    assert adapter.send(tencent_settings(tencent), TENCENT_SECRETS, ALICE, MESSAGE).ok


def test_tencent_clock_skew_beyond_five_minutes(
    tencent: TencentSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tencent_sms, "now", lambda: time.time() - 301)
    result = TencentSmsAdapter().send(tencent_settings(tencent), TENCENT_SECRETS, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "AuthFailure.SignatureExpire" in result.error


def test_tencent_server_clock_is_injectable() -> None:
    with TencentSmsServer(clock=lambda: time.time() + 240) as server:
        settings = tencent_settings(server)
        secrets = {"secret_key": server.secret_key}
        assert TencentSmsAdapter().send(settings, secrets, ALICE, MESSAGE).ok
        server.clock = lambda: time.time() + 400
        assert not TencentSmsAdapter().send(settings, secrets, ALICE, MESSAGE).ok
        assert server.received[-1].code == "AuthFailure.SignatureExpire"


def test_tencent_server_rejects_tampered_body(tencent: TencentSmsServer) -> None:
    assert TencentSmsAdapter().send(tencent_settings(tencent), TENCENT_SECRETS, ALICE, MESSAGE).ok
    [original] = tencent.received
    body = json.loads(original.body)
    body["PhoneNumberSet"] = ["+8613700137000"]
    headers = {
        name: original.headers[name.lower()]
        for name in (
            "Authorization",
            "Content-Type",
            "X-TC-Action",
            "X-TC-Version",
            "X-TC-Timestamp",
            "X-TC-Region",
        )
    }
    with httpx.Client(trust_env=False) as client:
        tampered = client.post(
            tencent.url, content=json.dumps(body, separators=(",", ":")).encode(), headers=headers
        )
        replay = client.post(tencent.url, content=original.body, headers=headers)
    assert tampered.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    # The same bytes again verify (Tencent has no nonce; the 5-minute window bounds replays).
    assert replay.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"


def test_tencent_host_header_is_signed(tencent: TencentSmsServer) -> None:
    adapter = TencentSmsAdapter()
    url, headers, payload = adapter.build_request(
        tencent_settings(tencent), TENCENT_SECRETS, "+8613800138000", MESSAGE
    )
    headers["Host"] = "sms.tencentcloudapi.com"
    with httpx.Client(trust_env=False) as client:
        answer = client.post(url, content=payload, headers=headers)
    assert answer.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


# ------------------------------------------------------------------------------------------
# WeCom group robot
# ------------------------------------------------------------------------------------------


@pytest.fixture
def wecom_server() -> Iterator[WeComRobotServer]:
    with WeComRobotServer(key="693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa") as server:
        yield server


WECOM_SECRETS = {"key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"}


def test_wecom_send_mentions_by_mobile(wecom_server: WeComRobotServer) -> None:
    result = WeComAdapter().send({"url": wecom_server.url}, WECOM_SECRETS, ALICE, MESSAGE)
    assert result.ok, result.error
    [request] = wecom_server.received
    assert request.signature_ok
    assert request.query["key"] == WECOM_SECRETS["key"]
    assert request.json["msgtype"] == "text"
    text = request.json["text"]
    assert text["mentioned_mobile_list"] == ["13800138000"]
    assert MESSAGE.subject in text["content"]
    assert MESSAGE.link in text["content"]


def test_wecom_send_markdown_without_phone(wecom_server: WeComRobotServer) -> None:
    result = WeComAdapter().send({"url": wecom_server.url}, WECOM_SECRETS, NO_PHONE, MESSAGE)
    assert result.ok, result.error
    body = wecom_server.received[0].json
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert f"**{MESSAGE.subject}**" in content
    assert f"[{MESSAGE.link}]({MESSAGE.link})" in content
    assert "Li Lei" in content


def test_wecom_wrong_key(wecom_server: WeComRobotServer) -> None:
    result = WeComAdapter().send({"url": wecom_server.url}, {"key": "wrong"}, ALICE, MESSAGE)
    assert not result.ok
    assert not result.retryable
    assert "93000" in result.error
    assert "key" in result.error.lower()


def test_wecom_unusable_phone_sends_without_mention(wecom_server: WeComRobotServer) -> None:
    # A robot cannot refuse a number: an unusable one just drops the @-mention.
    typo = Recipient(user_id=3, name="Typo", phone="12345")
    result = WeComAdapter().send({"url": wecom_server.url}, WECOM_SECRETS, typo, MESSAGE)
    assert result.ok
    assert wecom_server.received[0].json["msgtype"] == "markdown"


def test_wecom_notes_unknown_mentions() -> None:
    with WeComRobotServer(key="k", members=["13700137000"]) as server:
        assert WeComAdapter().send({"url": server.url}, {"key": "k"}, ALICE, MESSAGE).ok
        assert server.received[0].notes["ignored_mentions"] == ["13800138000"]


def test_wecom_throttled(wecom_server: WeComRobotServer) -> None:
    wecom_server.fail_next(2)
    adapter = WeComAdapter()
    for _attempt in range(2):
        result = adapter.send({"url": wecom_server.url}, WECOM_SECRETS, ALICE, MESSAGE)
        assert not result.ok and result.retryable
        assert "45009" in result.error
    assert adapter.send({"url": wecom_server.url}, WECOM_SECRETS, ALICE, MESSAGE).ok


def test_wecom_long_text_is_cut_to_the_byte_limit(wecom_server: WeComRobotServer) -> None:
    long = Message(idempotency_key="k", subject="长", text="长" * 3000)
    assert WeComAdapter().send({"url": wecom_server.url}, WECOM_SECRETS, NO_PHONE, long).ok
    assert len(wecom_server.received[0].json["markdown"]["content"].encode()) <= 4096


# ------------------------------------------------------------------------------------------
# DingTalk custom robot (加签)
# ------------------------------------------------------------------------------------------

DINGTALK_SECRETS = {"access_token": "standin-access-token", "sign_secret": "SECstandin-sign-secret"}


@pytest.fixture
def dingtalk_server() -> Iterator[DingTalkRobotServer]:
    with DingTalkRobotServer(
        access_token=DINGTALK_SECRETS["access_token"],
        sign_secret=DINGTALK_SECRETS["sign_secret"],
    ) as server:
        yield server


def test_dingtalk_send(dingtalk_server: DingTalkRobotServer) -> None:
    result = DingTalkAdapter().send({"url": dingtalk_server.url}, DINGTALK_SECRETS, ALICE, MESSAGE)
    assert result.ok, result.error
    [request] = dingtalk_server.received
    assert request.signature_ok
    assert request.query["access_token"] == DINGTALK_SECRETS["access_token"]
    assert abs(int(request.query["timestamp"]) - time.time() * 1000) < 60_000
    body = request.json
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == MESSAGE.short
    assert MESSAGE.subject in body["markdown"]["text"]
    assert "@13800138000" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}


def test_dingtalk_sign_is_url_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Find a timestamp whose signature has "+" or "/" (they must be %-encoded in the URL).
    base = 1_700_000_000_000
    stamp = next(base + i for i in range(1000) if set(dingtalk.sign(base + i, "SECx")) & {"+", "/"})
    monkeypatch.setattr(dingtalk, "now", lambda: stamp / 1000)
    with DingTalkRobotServer(access_token="t", sign_secret="SECx", clock=lambda: stamp / 1000) as s:
        result = DingTalkAdapter().send(
            {"url": s.url}, {"access_token": "t", "sign_secret": "SECx"}, ALICE, MESSAGE
        )
        assert result.ok, result.error
        assert s.received[0].query["sign"] == dingtalk.sign(stamp, "SECx")


def test_dingtalk_wrong_secret(dingtalk_server: DingTalkRobotServer) -> None:
    secrets = {**DINGTALK_SECRETS, "sign_secret": "SECwrong"}
    result = DingTalkAdapter().send({"url": dingtalk_server.url}, secrets, ALICE, MESSAGE)
    assert not result.ok
    assert not result.retryable
    assert "signature" in result.error.lower()
    assert "310000" in result.error and "sign not match" in result.error


def test_dingtalk_wrong_token(dingtalk_server: DingTalkRobotServer) -> None:
    secrets = {**DINGTALK_SECRETS, "access_token": "nope"}
    result = DingTalkAdapter().send({"url": dingtalk_server.url}, secrets, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "300001" in result.error


def test_dingtalk_stale_timestamp(
    dingtalk_server: DingTalkRobotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dingtalk, "now", lambda: time.time() - 3601)
    result = DingTalkAdapter().send({"url": dingtalk_server.url}, DINGTALK_SECRETS, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "invalid timestamp" in result.error
    assert "clock" in result.error


def test_dingtalk_keywords() -> None:
    with DingTalkRobotServer(keywords=["Baton"], **_dingtalk_credentials()) as server:
        result = DingTalkAdapter().send({"url": server.url}, DINGTALK_SECRETS, ALICE, MESSAGE)
        assert not result.ok and not result.retryable
        assert "keywords" in result.error
        tagged = Message(idempotency_key="k", subject="Baton: handover due", text="…")
        assert DingTalkAdapter().send({"url": server.url}, DINGTALK_SECRETS, ALICE, tagged).ok


def _dingtalk_credentials() -> dict[str, str]:
    return {
        "access_token": DINGTALK_SECRETS["access_token"],
        "sign_secret": DINGTALK_SECRETS["sign_secret"],
    }


def test_dingtalk_throttled(dingtalk_server: DingTalkRobotServer) -> None:
    dingtalk_server.fail_next(1)
    adapter = DingTalkAdapter()
    first = adapter.send({"url": dingtalk_server.url}, DINGTALK_SECRETS, ALICE, MESSAGE)
    assert not first.ok and first.retryable
    assert "130101" in first.error
    assert adapter.send({"url": dingtalk_server.url}, DINGTALK_SECRETS, ALICE, MESSAGE).ok


def test_dingtalk_unusable_phone_sends_without_mention(
    dingtalk_server: DingTalkRobotServer,
) -> None:
    typo = Recipient(user_id=3, name="Typo", phone="+86 123")
    result = DingTalkAdapter().send({"url": dingtalk_server.url}, DINGTALK_SECRETS, typo, MESSAGE)
    assert result.ok
    body = dingtalk_server.received[0].json
    assert body["at"]["atMobiles"] == []
    assert "Typo" in body["markdown"]["text"]


def test_dingtalk_server_rejects_tampered_timestamp(dingtalk_server: DingTalkRobotServer) -> None:
    assert DingTalkAdapter().send({"url": dingtalk_server.url}, DINGTALK_SECRETS, ALICE, MESSAGE).ok
    [original] = dingtalk_server.received
    query = {**original.query, "timestamp": str(int(original.query["timestamp"]) + 1)}
    with httpx.Client(trust_env=False) as client:
        answer = client.post(dingtalk_server.url, params=query, content=original.body)
    assert answer.json() == {
        "errcode": 310000,
        "errmsg": "sign not match" + DingTalkRobotServer.MORE,
    }


# ------------------------------------------------------------------------------------------
# Feishu custom bot (签名校验)
# ------------------------------------------------------------------------------------------

FEISHU_SECRETS = {"sign_secret": "standin-sign-secret"}


@pytest.fixture
def feishu_server() -> Iterator[FeishuBotServer]:
    with FeishuBotServer(sign_secret=FEISHU_SECRETS["sign_secret"]) as server:
        yield server


def test_feishu_send(feishu_server: FeishuBotServer) -> None:
    result = FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, ALICE, MESSAGE)
    assert result.ok, result.error
    [request] = feishu_server.received
    assert request.signature_ok
    body = request.json
    assert abs(int(body["timestamp"]) - time.time()) < 60
    assert body["sign"] == feishu.sign(int(body["timestamp"]), FEISHU_SECRETS["sign_secret"])
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == MESSAGE.subject
    flat = json.dumps(post["content"], ensure_ascii=False)
    assert MESSAGE.link in flat
    assert "王小明" in flat
    assert result.response.startswith('{"code": 0')


def test_feishu_wrong_secret(feishu_server: FeishuBotServer) -> None:
    result = FeishuAdapter().send({"url": feishu_server.url}, {"sign_secret": "x"}, ALICE, MESSAGE)
    assert not result.ok
    assert not result.retryable
    assert "signature" in result.error.lower()
    assert "19021" in result.error


def test_feishu_unknown_hook(feishu_server: FeishuBotServer) -> None:
    url = feishu_server.base_url + FeishuBotServer.PREFIX + "another-hook"
    result = FeishuAdapter().send({"url": url}, FEISHU_SECRETS, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "19001" in result.error


def test_feishu_stale_timestamp(
    feishu_server: FeishuBotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feishu, "now", lambda: time.time() + 3700)
    result = FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, ALICE, MESSAGE)
    assert not result.ok and not result.retryable
    assert "19021" in result.error


def test_feishu_keywords() -> None:
    with FeishuBotServer(keywords=["Baton"], sign_secret="s") as server:
        result = FeishuAdapter().send({"url": server.url}, {"sign_secret": "s"}, ALICE, MESSAGE)
        assert not result.ok and not result.retryable
        assert "19024" in result.error


def test_feishu_throttled(feishu_server: FeishuBotServer) -> None:
    feishu_server.fail_next(1)
    first = FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, ALICE, MESSAGE)
    assert not first.ok and first.retryable
    assert "11232" in first.error
    assert FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, ALICE, MESSAGE).ok


def test_feishu_english_recipient_gets_en_us_post(feishu_server: FeishuBotServer) -> None:
    english = Recipient(user_id=9, name="Ann", language="en")
    assert FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, english, MESSAGE).ok
    assert list(feishu_server.received[0].json["content"]["post"]) == ["en_us"]


def test_feishu_server_rejects_tampered_timestamp(feishu_server: FeishuBotServer) -> None:
    assert FeishuAdapter().send({"url": feishu_server.url}, FEISHU_SECRETS, ALICE, MESSAGE).ok
    body = json.loads(feishu_server.received[0].body)
    body["timestamp"] = str(int(body["timestamp"]) - 1)
    with httpx.Client(trust_env=False) as client:
        answer = client.post(feishu_server.url, json=body)
    assert answer.json()["code"] == 19021
    assert not feishu_server.received[-1].signature_ok


# ------------------------------------------------------------------------------------------
# All adapters: network failures and configuration
# ------------------------------------------------------------------------------------------

ADAPTER_CASES = [
    pytest.param(AliyunSmsAdapter(), "endpoint", aliyun_settings(), ALIYUN_SECRETS, id="aliyun"),
    pytest.param(
        TencentSmsAdapter(), "endpoint", tencent_settings(), TENCENT_SECRETS, id="tencent"
    ),
    pytest.param(WeComAdapter(), "url", {}, WECOM_SECRETS, id="wecom"),
    pytest.param(DingTalkAdapter(), "url", {}, DINGTALK_SECRETS, id="dingtalk"),
    pytest.param(
        FeishuAdapter(),
        "url",
        {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/abc"},
        FEISHU_SECRETS,
        id="feishu",
    ),
]


@pytest.mark.parametrize(("adapter", "url_field", "channel_settings", "secrets"), ADAPTER_CASES)
def test_closed_port_is_a_retryable_connection_error(
    adapter: Adapter,
    url_field: str,
    channel_settings: dict[str, str],
    secrets: dict[str, str],
    closed_url: str,
) -> None:
    url = closed_url
    if url_field == "url" and isinstance(adapter, FeishuAdapter):
        url = closed_url + "open-apis/bot/v2/hook/abc"
    result = adapter.send({**channel_settings, url_field: url}, secrets, ALICE, MESSAGE)
    assert not result.ok
    assert result.retryable
    assert "connect" in result.error.lower()


@pytest.mark.parametrize(("adapter", "url_field", "channel_settings", "secrets"), ADAPTER_CASES)
def test_check_config_accepts_complete_settings(
    adapter: Adapter, url_field: str, channel_settings: dict[str, str], secrets: dict[str, str]
) -> None:
    adapter.check_config(channel_settings, secrets)


@pytest.mark.parametrize(("adapter", "url_field", "channel_settings", "secrets"), ADAPTER_CASES)
def test_check_config_names_missing_secret(
    adapter: Adapter, url_field: str, channel_settings: dict[str, str], secrets: dict[str, str]
) -> None:
    for name in adapter.secret_fields:
        with pytest.raises(ConfigError) as caught:
            adapter.check_config(channel_settings, {**secrets, name: "  "})
        assert caught.value.field_name == name
        assert name in str(caught.value)


@pytest.mark.parametrize(("adapter", "url_field", "channel_settings", "secrets"), ADAPTER_CASES)
def test_check_config_rejects_non_http_url(
    adapter: Adapter, url_field: str, channel_settings: dict[str, str], secrets: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        adapter.check_config({**channel_settings, url_field: "ftp://example.com/x"}, secrets)
    assert caught.value.field_name == url_field


@pytest.mark.parametrize(
    ("adapter", "channel_settings", "secrets", "missing"),
    [
        (AliyunSmsAdapter(), aliyun_settings(sign_name=""), ALIYUN_SECRETS, "sign_name"),
        (AliyunSmsAdapter(), aliyun_settings(access_key_id=""), ALIYUN_SECRETS, "access_key_id"),
        (AliyunSmsAdapter(), aliyun_settings(template_code=""), ALIYUN_SECRETS, "template_code"),
        (AliyunSmsAdapter(), aliyun_settings(region_id="Hangzhou!"), ALIYUN_SECRETS, "region_id"),
        (TencentSmsAdapter(), tencent_settings(sdk_app_id=""), TENCENT_SECRETS, "sdk_app_id"),
        (TencentSmsAdapter(), tencent_settings(sdk_app_id="app"), TENCENT_SECRETS, "sdk_app_id"),
        (TencentSmsAdapter(), tencent_settings(template_id=""), TENCENT_SECRETS, "template_id"),
        (TencentSmsAdapter(), tencent_settings(secret_id=""), TENCENT_SECRETS, "secret_id"),
        (FeishuAdapter(), {}, FEISHU_SECRETS, "url"),
        (FeishuAdapter(), {"url": "https://open.feishu.cn/"}, FEISHU_SECRETS, "url"),
        (DingTalkAdapter(), {}, {**DINGTALK_SECRETS, "sign_secret": "plain"}, "sign_secret"),
    ],
)
def test_check_config_names_the_field(
    adapter: Adapter, channel_settings: dict[str, str], secrets: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        adapter.check_config(channel_settings, secrets)
    assert caught.value.field_name == missing
    assert missing in str(caught.value)


def test_default_urls_are_the_vendors() -> None:
    assert aliyun_sms.DEFAULT_ENDPOINT == "https://dysmsapi.aliyuncs.com/"
    assert tencent_sms.DEFAULT_ENDPOINT == "https://sms.tencentcloudapi.com/"
    assert wecom.DEFAULT_URL == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    assert dingtalk.DEFAULT_URL == "https://oapi.dingtalk.com/robot/send"
    kinds = {
        a.kind
        for a in (AliyunSmsAdapter, TencentSmsAdapter, WeComAdapter, DingTalkAdapter, FeishuAdapter)
    }
    assert kinds == {"sms_aliyun", "sms_tencent", "wecom", "dingtalk", "feishu"}
