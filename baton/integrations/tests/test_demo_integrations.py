"""The issue's "done when", on the demo with its stand-in systems running: the departing
engineer's accounts are deactivated on the SCIM server on the last day, the salesperson's
customers are reassigned with letters in the mail catcher, and the webhook subscriber receives
events whose signatures verify with the `standardwebhooks` library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.handover import demo as handover_demo
from baton.integrations import demo
from baton.integrations.management.commands.standins import story
from baton.integrations.models import BusinessItem, Revocation
from baton.integrations.testing.scim import free_port
from baton.notify import demo as notify_demo
from baton.notify.models import Channel
from baton.notify.testing.smtp import MailCatcher

pytestmark = pytest.mark.django_db


def test_integrations_story_on_the_demo(
    users: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path  # the stand-ins' tokens file
    ports = {name: free_port() for name in demo.PORTS}
    state = demo.setup(log=lambda _m: None, ports=ports)
    handover_demo.showcase(log=lambda _m: None)
    notify_demo.setup(log=lambda _m: None)
    engineer = demo.departing_engineer()
    assert engineer is not None and engineer.state == "scheduled"
    stand_ins = demo.StandIns(state, ports=ports).start(say=lambda _m: None)
    try:
        with MailCatcher() as catcher:
            channel = Channel.objects.get(family="email", business_unit=None)
            channel.settings["port"] = catcher.port
            channel.save(update_fields=["settings"])
            out = story(lambda _m: None)

            # The salesperson's customers: pulled, reassigned, written back, told by letter.
            assert out["pulls"]["done"] >= 2 and out["reassigned"] > 0
            customers = BusinessItem.objects.filter(kind="customer", new_owner__isnull=False)
            assert customers.count() == out["reassigned"]
            crm = [c for c in customers if c.system.kind == "rest"]
            assert crm and all(c.write_back == "done" for c in crm)
            for item in crm:
                assert stand_ins.crm.records["customers"][item.external_id]["owner"] == (
                    item.new_owner.email
                )
            wecom = [c for c in customers if c.system.kind == "wecom"]
            # 离职继承: WeCom hands the contacts over 24 hours later.
            assert wecom and all(
                stand_ins.wecom.transfers[c.external_id].takeover == c.new_owner.employee_number
                for c in wecom
            )
            stand_ins.wecom.complete_transfers()
            assert all(
                stand_ins.wecom.owner_of(c.external_id) == c.new_owner.employee_number
                for c in wecom
            )
            letters = [m for m in catcher.messages if "/confirm/" in m.get_body().get_content()]
            assert len(letters) == len(crm)  # WeCom contacts have no email address

        # The departing engineer: deactivated on the SCIM server at the end of the last day.
        engineer.refresh_from_db()
        assert engineer.state == "revoked"
        account = stand_ins.scim.user(engineer.external_id)
        assert account is not None and account["active"] is False
        # The OA account too; an engineer has none in the CRM.
        assert out["engineer"] == {
            "统一身份认证 IdP (SCIM)": "revoked",
            "OA 协同办公": "revoked",
            "CRM 客户管理": "absent",
        }
        assert Revocation.objects.filter(case=engineer.case, state="revoked").count() == 2

        # The webhook subscriber: every event's signature verifies with standardwebhooks.
        assert demo.wait_for(lambda: len(stand_ins.received) > 0)
        types = {r["event"]["type"] for r in stand_ins.received}
        assert {"case.approved", "access.revoked"} <= types
        assert all(r["verified"] for r in stand_ins.received)
    finally:
        stand_ins.stop()
