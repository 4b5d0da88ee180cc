"""Demo connected systems, all local stand-ins on 127.0.0.1 that `make demo` runs with
`baton standins serve`:

- a SCIM 2.0 identity provider (the real `scim2-server`) holding every employee's account;
- an OA and a CRM speaking JSON REST (`testing.bizserver`, driven by the example manifests);
  the CRM holds the salespeople's customers and open orders;
- WeCom external contacts (`testing.wecom`, WeCom's request and response format);
- a webhook subscriber that verifies every request with the `standardwebhooks` library.

`setup()` (run by `baton demo` before the demo cases are approved, so their revocations and
pulls are planned) connects them. Their tokens are made at set-up and kept in
`BATON_DATA_DIR/demo-systems.json` (never in the repository); `serve()` reads them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from baton.access.models import User
from baton.integrations.actions import systems as system_actions
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import ConnectedSystem, Revocation
from baton.org.models import Employee, EmployeeStatus

PORTS = {"scim": 8081, "oa": 8082, "crm": 8083, "wecom": 8084, "hooks": 8085}
MANIFESTS = Path(__file__).resolve().parent / "manifests"
CUSTOMERS_PER_SALESPERSON = 12
WECOM_CONTACTS_PER_SALESPERSON = 4


def state_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-systems.json"


def load_state() -> dict[str, Any]:
    path = state_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((MANIFESTS / f"{name}.yaml").read_text())
    return data


def setup(
    *, log: Callable[[str], None] = print, ports: dict[str, int] | None = None
) -> dict[str, Any]:
    """Connect the local stand-ins (idempotent: an existing demo set-up is kept). `ports`
    replaces the fixed demo ports (the tests take free ones)."""
    if ConnectedSystem.objects.exists():
        return load_state()
    where = {**PORTS, **(ports or {})}

    def _url(name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{where[name]}{path}"

    admin = User.objects.get(username="admin")
    state = {
        "scim_token": secrets.token_urlsafe(24),
        "oa_token": secrets.token_urlsafe(24),
        "crm_token": secrets.token_urlsafe(24),
        "wecom_corpid": "ww" + secrets.token_hex(8),
        "wecom_secret": secrets.token_urlsafe(24),
    }
    common = {"internal": True, "active": True}
    system_actions.create_system(
        {
            **common,
            "name": "统一身份认证 IdP (SCIM)",
            "kind": "scim",
            "base_url": _url("scim", "/v2"),
            "revokes_access": True,
            "delete_after_days": 30,
            "config": {"match": "email", "filter_attribute": "userName"},
        },
        {"token": state["scim_token"]},
        acting_user=admin,
    )
    system_actions.create_system(
        {
            **common,
            "name": "OA 协同办公",
            "kind": "rest",
            "base_url": _url("oa", "/api"),
            "revokes_access": True,
            "config": _manifest("oa"),
        },
        {"api_token": state["oa_token"]},
        acting_user=admin,
    )
    system_actions.create_system(
        {
            **common,
            "name": "CRM 客户管理",
            "kind": "rest",
            "base_url": _url("crm", "/api"),
            "revokes_access": True,
            "pulls_data": True,
            "transfers_customers": True,
            "config": _manifest("crm"),
        },
        {"api_token": state["crm_token"]},
        acting_user=admin,
    )
    system_actions.create_system(
        {
            **common,
            "name": "企业微信 客户联系",
            "kind": "wecom",
            "base_url": _url("wecom"),
            "revokes_access": False,
            "pulls_data": True,
            "transfers_customers": True,
            "config": {"corpid": state["wecom_corpid"], "match": "employee_number"},
        },
        {"secret": state["wecom_secret"]},
        acting_user=admin,
    )
    _sub, webhook_secret = webhook_actions.create_subscription(
        {
            "name": "演示订阅者（本地）",
            "url": _url("hooks", "/hooks/baton"),
            "event_types": ["*"],
            "internal": True,
        },
        acting_user=admin,
    )
    state["webhook_secret"] = webhook_secret
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    path.chmod(0o600)
    log(
        "integrations: SCIM IdP, OA, CRM, WeCom and a webhook subscriber on 127.0.0.1:"
        f"{where['scim']}–{where['hooks']} (`baton standins serve`)"
    )
    return state


def _people() -> list[Employee]:
    return list(
        Employee.objects.exclude(status=EmployeeStatus.DEPARTED)
        .exclude(email="")
        .select_related("department", "position__family")
        .order_by("employee_number")
    )


class StandIns:
    """The running stand-ins (started, seeded from the database, stopped)."""

    def __init__(self, state: dict[str, Any], *, ports: dict[str, int] | None = None) -> None:
        from baton.integrations.testing.bizserver import BizServer
        from baton.integrations.testing.receiver import Receiver
        from baton.integrations.testing.scim import ScimServer
        from baton.integrations.testing.wecom import WecomServer

        self.ports = {**PORTS, **(ports or {})}
        self.state = state
        self.scim = ScimServer(token=state["scim_token"], port=self.ports["scim"])
        self.oa = BizServer(token=state["oa_token"], port=self.ports["oa"])
        self.crm = BizServer(token=state["crm_token"], port=self.ports["crm"])
        self.wecom = WecomServer(
            corpid=state["wecom_corpid"], secret=state["wecom_secret"], port=self.ports["wecom"]
        )
        self.received: list[dict[str, Any]] = []
        self.hooks = Receiver(
            secret=state["webhook_secret"], port=self.ports["hooks"], on_receive=self._hook
        )
        self.say: Callable[[str], None] = print

    def _hook(self, req: Any) -> None:
        event = req.json
        mark = "signature verified" if req.verified else "SIGNATURE INVALID"
        self.received.append({"event": event, "verified": req.verified})
        self.say(f"webhook ← {event.get('type')} {event.get('subject')} ({mark})")

    def start(self, *, say: Callable[[str], None] = print) -> StandIns:
        self.say = say
        self.scim.start()
        for server in (self.oa, self.crm, self.wecom, self.hooks):
            server.__enter__()
        self.seed()
        return self

    def stop(self) -> None:
        for server in (self.hooks, self.wecom, self.crm, self.oa):
            server.__exit__(None, None, None)
        self.scim.stop()

    def seed(self) -> None:
        """Every employee's account in the IdP and the OA; the salespeople's customers and
        orders in the CRM and their WeChat contacts in WeCom."""
        people = _people()
        sales = [p for p in people if p.position.family.code == "sales"]
        for p in people:
            self.oa.add_user(p.email, email=p.email)
        for p in sales:
            self.crm.add_user(p.email, email=p.email)
            self.crm.seed(p.email, customers=CUSTOMERS_PER_SALESPERSON, orders=3)
            self.wecom.add_customers(p.employee_number, WECOM_CONTACTS_PER_SALESPERSON)
        # The IdP last: a real SCIM server, one request per account (and group).
        for p in people:
            self.scim.add_user(p.email, groups=[p.department.name])
        self.say(
            f"stand-ins seeded: {len(people)} accounts (IdP, OA), {len(sales)} salespeople's "
            "customers (CRM, WeCom)"
        )


def serve(*, say: Callable[[str], None] = print, stop: threading.Event | None = None) -> None:
    """Run the stand-ins until interrupted (make demo runs this next to the web server)."""
    state = load_state()
    if not state:
        raise RuntimeError("No demo systems: run `baton demo` first.")
    stand_ins = StandIns(state).start(say=say)
    say(
        "demo systems: SCIM IdP "
        + ", ".join(f"{k} :{v}" for k, v in stand_ins.ports.items())
        + " (127.0.0.1)"
    )
    stop = stop or threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stand_ins.stop()


def departing_engineer() -> Revocation | None:
    """The demo's departing engineer's IdP revocation (the case in handover with the demo
    receiver), if the demo has one."""
    return (
        Revocation.objects.filter(
            system__kind="scim",
            state="scheduled",
            immediate=False,
            case__exit_type="resignation",
            case__state__in=["approved", "handover"],
        )
        .select_related("case", "employee__work_city")
        .order_by("due_at", "id")
        .first()
    )


def revocation_moment() -> str:
    """A moment just after the first scheduled IdP revocation is due (its last working day at
    the system's hour), in the employee's time zone: `baton revocations run --now …`."""
    rev = departing_engineer()
    if rev is None:
        return ""
    zone = zoneinfo.ZoneInfo(rev.employee.work_city.time_zone)
    moment = rev.due_at.astimezone(zone) + dt.timedelta(minutes=5)
    return moment.replace(tzinfo=None).isoformat(timespec="minutes")


def wait_for(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()
