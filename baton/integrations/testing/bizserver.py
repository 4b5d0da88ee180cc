"""A local business system (127.0.0.1, port chosen by the OS) standing in for an OA, CRM, ERP or
finance system, for tests, the demo and the benchmark: a JSON REST API with bearer-token
authentication, users with an active flag, and the records each user owns (customers, orders,
projects, purchase orders, assets, loans, expense claims), paginated three ways at once (page
number, opaque cursor, next link).

    with BizServer(token="t0ken") as biz:
        biz.add_user("zhang.wei", email="zhang.wei@hx.example")
        biz.seed("zhang.wei", customers=500)
        ...                                   # point a ConnectedSystem at biz.url
        assert not biz.users_by_login["zhang.wei"]["active"]
        assert [r.path for r in biz.received] == [...]

Endpoints (all below /api, all needing `Authorization: Bearer <token>`):

    GET    /ping                               {"ok": true}
    GET    /users?email=&login=                {"items": [user…]}
    GET    /users/by-login/<login>             user | 404
    GET    /users/<id>                         user | 404
    POST   /users/<id>/deactivate              user (active: false)
    POST   /users/<id>/sessions/revoke         {"revoked": n}
    POST   /users/<id>/transfer {"to": login}  {"moved": n}  — every record it owns → `to`
    DELETE /users/<id>                         204
    GET    /<collection>?owner=&page=&per_page=&cursor=
                                              {"items", "page", "total", "has_more",
                                               "next_cursor", "links": {"next"}}
    POST   /customers/<id>/owner {"owner": login}  the customer | 404 | 422

Knobs: `fail_next(n, status)` answers the next n authenticated requests with `status` (503 by
default); `fail_on[path_prefix] = status` keeps failing there; `fail_when(request)` decides
per request; `delay` slows every answer;
`next_host` puts another host into next links. Every request is recorded in `received`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

COLLECTIONS = {
    "customers": "customer",
    "orders": "order",
    "projects": "project",
    "purchase-orders": "purchase_order",
    "assets": "asset",
    "loans": "loan",
    "expense-claims": "expense_claim",
}
_PREFIX = {
    "customers": "C",
    "orders": "SO",
    "projects": "P",
    "purchase-orders": "PO",
    "assets": "A",
    "loans": "L",
    "expense-claims": "E",
}


@dataclass
class Received:
    method: str
    path: str  # as sent (still percent-encoded)
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    status: int = 0


@dataclass
class BizServer:
    token: str = "biz-token-0123456789"  # noqa: S105 — a test server's own token
    page_size: int = 50
    port: int = 0  # 0: chosen by the OS (the demo uses fixed ones)
    delay: float = 0.0
    next_host: str = ""  # e.g. "http://evil.example" to send next links elsewhere
    received: list[Received] = field(default_factory=list)
    fail_on: dict[str, int] = field(default_factory=dict)
    # Decides per request: a status to fail with, or None to answer normally.
    fail_when: Callable[[Received], int | None] | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self._fail: list[int] = []
        self._ids = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                received = Received(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    received.json = json.loads(body) if body else None
                except ValueError:
                    received.json = None
                if server.delay:
                    time.sleep(server.delay)
                status, answer = server.answer(received)
                received.status = status
                with server.lock:
                    server.received.append(received)
                payload = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ---- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- state

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids:05d}"

    def add_user(
        self, login: str, *, email: str = "", name: str = "", active: bool = True
    ) -> dict[str, Any]:
        with self.lock:
            user: dict[str, Any] = {
                "id": self._next_id("u"),
                "login": login,
                "email": email or f"{login}@biz.example",
                "name": name or login,
                "active": active,
                "sessions": 2,
            }
            self.users[user["id"]] = user
            return user

    @property
    def users_by_login(self) -> dict[str, dict[str, Any]]:
        return {u["login"]: u for u in self.users.values()}

    def add_record(self, collection: str, owner: str, **values: Any) -> dict[str, Any]:
        with self.lock:
            record = {"id": self._next_id(_PREFIX[collection]), "owner": owner, **values}
            self.records[collection][record["id"]] = record
            return record

    def seed(self, owner: str, **counts: int) -> None:
        """Give `owner` records: seed("li.na", customers=500, orders=3, loans=1, …) (use
        underscores for the dashed collections: purchase_orders, expense_claims)."""
        for key, n in counts.items():
            collection = key.replace("_", "-")
            for i in range(1, n + 1):
                self.add_record(collection, owner, **_shape(collection, owner, i))

    def owned(self, collection: str, owner: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.records[collection].values() if r["owner"] == owner]

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self.lock:
            self._fail.extend([status] * n)

    def calls(self, method: str | None = None, prefix: str = "") -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.received
                if (method is None or r.method == method) and r.path.startswith(prefix)
            ]

    # ---- answers

    def answer(self, req: Received) -> tuple[int, Any]:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "invalid_token", "message": "missing or wrong bearer token"}
        with self.lock:
            if self._fail:
                status = self._fail.pop(0)
                return status, {"error": "unavailable", "message": "try again later"}
            forced = self.fail_when(req) if self.fail_when else None
            if forced:
                return forced, {"error": "failing", "message": "told to fail this request"}
            for prefix, status in self.fail_on.items():
                if req.path.startswith(prefix):
                    return status, {"error": "failing", "message": f"told to fail {prefix}"}
            return self._route(req)

    def _route(self, req: Received) -> tuple[int, Any]:
        raw = req.path.removeprefix("/api").strip("/")
        segs = [unquote(s) for s in raw.split("/")] if raw else []
        m = req.method
        if segs == ["ping"] and m == "GET":
            return 200, {"ok": True, "name": "bizserver"}
        if segs and segs[0] == "users":
            return self._users(m, segs[1:], req)
        if segs and segs[0] in COLLECTIONS:
            if len(segs) == 1 and m == "GET":
                return self._list(segs[0], req)
            if segs[0] == "customers" and len(segs) == 3 and segs[2] == "owner" and m == "POST":
                return self._reassign(segs[1], req)
        return 404, {"error": "not_found", "message": f"no route {m} {req.path}"}

    def _users(self, m: str, segs: list[str], req: Received) -> tuple[int, Any]:
        if not segs and m == "GET":
            found = [
                _public(u)
                for u in self.users.values()
                if all(u.get(k) == v for k, v in req.query.items() if k in ("email", "login"))
            ]
            return 200, {"items": found, "total": len(found)}
        if len(segs) == 2 and segs[0] == "by-login" and m == "GET":
            user = next((u for u in self.users.values() if u["login"] == segs[1]), None)
            return (200, _public(user)) if user else (404, {"error": "not_found"})
        user = self.users.get(segs[0]) if segs else None
        if user is None:
            return 404, {"error": "not_found", "message": "no such user"}
        if len(segs) == 1 and m == "GET":
            return 200, _public(user)
        if len(segs) == 1 and m == "DELETE":
            del self.users[user["id"]]
            return 204, None
        action = "/".join(segs[1:])
        if action == "deactivate" and m == "POST":
            user["active"] = False
            return 200, _public(user)
        if action == "sessions/revoke" and m == "POST":
            revoked, user["sessions"] = user["sessions"], 0
            return 200, {"revoked": revoked}
        if action == "transfer" and m == "POST":
            to = (req.json or {}).get("to")
            if not any(u["login"] == to for u in self.users.values()):
                return 422, {"error": "unknown_user", "message": f"no user {to!r}"}
            moved = 0
            for records in self.records.values():
                for r in records.values():
                    if r["owner"] == user["login"]:
                        r["owner"] = to
                        moved += 1
            return 200, {"moved": moved, "to": to}
        return 404, {"error": "not_found", "message": "no such action"}

    def _list(self, collection: str, req: Received) -> tuple[int, Any]:
        owner = req.query.get("owner", "")
        try:
            per_page = max(1, min(int(req.query.get("per_page") or self.page_size), 200))
            cursor = req.query.get("cursor") or ""
            if cursor:
                offset = int(cursor.removeprefix("o:"))
                page = offset // per_page + 1
            else:
                page = max(1, int(req.query.get("page") or 1))
                offset = (page - 1) * per_page
        except ValueError:
            return 400, {"error": "bad_request", "message": "page, per_page or cursor"}
        rows = [r for r in self.records[collection].values() if r["owner"] == owner]
        items = rows[offset : offset + per_page]
        more = offset + per_page < len(rows)
        base = self.next_host or self.url.removesuffix("/api")
        next_link = (
            f"{base}/api/{collection}?owner={quote(owner, safe='')}&page={page + 1}"
            f"&per_page={per_page}"
            if more
            else None
        )
        return 200, {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": len(rows),
            "has_more": more,
            "next_cursor": f"o:{offset + per_page}" if more else None,
            "links": {"next": next_link},
        }

    def _reassign(self, record_id: str, req: Received) -> tuple[int, Any]:
        record = self.records["customers"].get(record_id)
        if record is None:
            return 404, {"error": "not_found", "message": "no such customer"}
        owner = (req.json or {}).get("owner")
        if not any(u["login"] == owner for u in self.users.values()):
            return 422, {"error": "unknown_user", "message": f"no user {owner!r}"}
        record["owner"] = owner
        return 200, record


def _public(user: dict[str, Any] | None) -> dict[str, Any]:
    assert user is not None
    return {k: user[k] for k in ("id", "login", "email", "name", "active")}


def _shape(collection: str, owner: str, i: int) -> dict[str, Any]:
    """A plausible record of the collection (deterministic)."""
    amount = str(Decimal(1000 + i * 37) + Decimal("0.50"))
    if collection == "customers":
        return {
            "name": f"客户{i:04d} 有限公司",
            "industry": ("制造", "零售", "金融")[i % 3],
            "level": "ABC"[i % 3],
            "contact": {
                "name": f"联系人{i}",
                "email": f"contact{i}@customer{i}.example",
                "phone": f"+86 138 0000 {i % 10000:04d}",
                "language": "en" if i % 5 == 0 else "zh-hans",
            },
        }
    if collection == "orders":
        return {
            "number": f"SO-2026-{i:05d}",
            "customer": f"客户{i:04d} 有限公司",
            "amount": amount,
            "currency": "CNY",
            "status": "open",
        }
    if collection == "projects":
        return {"name": f"项目{i}", "stage": "delivery", "budget": amount, "currency": "CNY"}
    if collection == "purchase-orders":
        return {
            "number": f"PO-{i:05d}",
            "supplier": f"供应商{i}",
            "amount": amount,
            "currency": "CNY",
        }
    if collection == "assets":
        return {"tag": f"IT-{i:05d}", "model": "ThinkPad X1", "serial": f"SN{i:08d}"}
    if collection == "loans":
        return {"purpose": "备用金", "amount": amount, "currency": "CNY", "due": "2026-12-31"}
    return {"title": f"差旅报销{i}", "amount": amount, "currency": "CNY", "submitted": "2026-11-02"}


def connect(
    server: BizServer,
    manifest: str,
    *,
    name: str = "",
    legal_entity: Any = None,
    **fields: Any,
) -> Any:
    """A REST ConnectedSystem pointed at `server`, configured with the example manifest
    `manifest` (oa, crm, erp, finance: baton/integrations/manifests/) and the server's token
    sealed as its `api_token` secret — for tests and the demo. `fields` set the rest
    (pulls_data=True, revokes_access=False, …)."""
    from pathlib import Path

    import yaml

    from baton.core.sealed import seal
    from baton.integrations.models import ConnectedSystem

    path = Path(__file__).resolve().parent.parent / "manifests" / f"{manifest}.yaml"
    system = ConnectedSystem.objects.create(
        name=name or manifest.upper(),
        kind="rest",
        base_url=server.url,
        internal=True,  # 127.0.0.1
        legal_entity=legal_entity,
        business_unit=getattr(legal_entity, "business_unit", None),
        config=yaml.safe_load(path.read_text()),
        **fields,
    )
    seal(system, {"api_token": server.token})
    system.save(update_fields=["secrets_blob", "secrets_key_id"])
    return system
