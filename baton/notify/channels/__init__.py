"""The channel adapters, by provider kind."""

from __future__ import annotations

from typing import Any


def adapter_for(kind: str) -> Any:
    """The adapter instance for a channel kind (imported lazily: only what is configured)."""
    from baton.notify.channels import aliyun_sms, dingtalk, email, feishu, tencent_sms, wecom

    adapters: dict[str, Any] = {
        "email": email.EmailAdapter,
        "sms_aliyun": aliyun_sms.AliyunSmsAdapter,
        "sms_tencent": tencent_sms.TencentSmsAdapter,
        "wecom": wecom.WeComAdapter,
        "dingtalk": dingtalk.DingTalkAdapter,
        "feishu": feishu.FeishuAdapter,
    }
    return adapters[kind]()
