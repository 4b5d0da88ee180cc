"""A local stand-in for WeCom's (企业微信) server API, for tests and the demo: the access token,
the external contacts of a member, and the transfer of a departed member's customers
(离职继承). It listens on 127.0.0.1 (a port chosen by the OS), speaks WeCom's request and
response shapes and error codes, keeps state (who follows which customer, each transfer's
status) so tests can assert what happened on the vendor's side, and can be told to fail.

    with WecomServer() as wecom:
        wecom.add_customers("zhangsan", 3)
        ...  # a ConnectedSystem with base_url=wecom.url, config {"corpid": wecom.corpid}
        assert wecom.owner_of("wm-zhangsan-1") == "lisi"

Endpoints (all under /cgi-bin/):
- GET  gettoken?corpid=&corpsecret=
- GET  externalcontact/list?access_token=&userid=
- GET  externalcontact/get?access_token=&external_userid=
- POST externalcontact/batch/get_by_user  {"userid_list", "cursor", "limit"}
- POST externalcontact/resigned/transfer_customer  {"handover_userid", "takeover_userid",
  "external_userid": [≤ 100]}
- POST externalcontact/resigned/transfer_result  {"handover_userid", "takeover_userid",
  "cursor"}
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# WeCom's global error codes used here.
OK = 0
BUSY = -1
INVALID_SECRET = 40001
INVALID_CORPID = 40013
INVALID_TOKEN = 40014
INVALID_PARAM = 40058
TOO_FREQUENT = 40128  # 客户转接过于频繁 (90 days / twice per customer)
IN_TRANSFER = 40129  # 当前客户正在转接中
SAME_MEMBER = 40130  # 原跟进人与接手人一样
TOKEN_EXPIRED = 42001
NOT_FOLLOWED = 84084  # 非跟进客户
MISSING_TOKEN = 41001

MESSAGES = {
    OK: "ok",
    BUSY: "system busy",
    INVALID_SECRET: "invalid credential",
    INVALID_CORPID: "invalid corpid",
    INVALID_TOKEN: "invalid access_token",
    INVALID_PARAM: "invalid parameter",
    TOO_FREQUENT: "customer transfer too frequent",
    IN_TRANSFER: "customer is being transferred",
    SAME_MEMBER: "handover and takeover user are the same",
    TOKEN_EXPIRED: "access_token expired",
    NOT_FOLLOWED: "not a customer of the handover user",
    MISSING_TOKEN: "access_token missing",
}
# transfer_result statuses.
DONE, WAITING, REFUSED, LIMIT, NO_RECORD = 1, 2, 3, 4, 5
MAX_IDS = 100


@dataclass
class Customer:
    external_userid: str
    name: str
    corp_name: str
    owner: str  # the member (userid) who follows the customer
    position: str = ""
    mobiles: list[str] = field(default_factory=list)
    remark: str = ""
    type: int = 1  # 1: a WeChat user, 2: a WeCom user
    transfers: int = 0


@dataclass
class Transfer:
    handover: str
    takeover: str
    status: int
    takeover_time: int = 0


@dataclass
class Received:
    method: str
    path: str  # without /cgi-bin/
    query: dict[str, str]
    json: Any
    errcode: int


@dataclass
class WecomServer:
    corpid: str = "ww0123456789abcdef"
    secret: str = "corp-secret-9f8e7d6c5b4a"  # noqa: S105 — the local test server's own
    customers: dict[str, Customer] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)  # by external_userid
    # Per-customer answers to transfer_customer (external_userid → errcode), e.g. 40128.
    refuse: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    port: int = 0  # 0: chosen by the OS (the demo uses a fixed one)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self._fail: list[tuple[str, int]] = []  # (path, errcode) answered once each
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                path = parts.path.removeprefix("/cgi-bin/")
                status, answer = server.answer(method, path, query, body, raw)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=UTF-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> WecomServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---------------------------------------------------------------- knobs and state

    def add_customers(self, owner: str, count: int, prefix: str = "") -> list[str]:
        """`count` customers followed by `owner`; returns their external_userids."""
        ids = []
        with self.lock:
            start = sum(1 for c in self.customers.values() if c.owner == owner)
            for n in range(start + 1, start + count + 1):
                eid = f"wm{prefix or owner}{n:04d}"
                self.customers[eid] = Customer(
                    external_userid=eid,
                    name=f"客户{n}",
                    corp_name=f"客户公司{n}",
                    owner=owner,
                    position="采购经理",
                    mobiles=[f"1380000{n:04d}"],
                    remark=f"{owner} 的客户 {n}",
                )
                ids.append(eid)
        return ids

    def expire_tokens(self) -> None:
        """Every access token issued so far expires (the next call answers 42001)."""
        with self.lock:
            self.tokens.clear()

    def fail_next(self, path: str, errcode: int) -> None:
        """Answer the next call to `path` (e.g. "externalcontact/resigned/transfer_customer")
        with `errcode`, once."""
        with self.lock:
            self._fail.append((path, errcode))

    def owner_of(self, external_userid: str) -> str:
        return self.customers[external_userid].owner

    def owned_by(self, userid: str) -> list[str]:
        with self.lock:
            return sorted(e for e, c in self.customers.items() if c.owner == userid)

    def complete_transfers(self) -> None:
        """The 24 hours pass: every waiting transfer takes effect."""
        with self.lock:
            for eid, t in self.transfers.items():
                if t.status == WAITING:
                    t.status = DONE
                    t.takeover_time = int(time.time())
                    self.customers[eid].owner = t.takeover

    def customer_refuses(self, external_userid: str) -> None:
        """The customer declines the new contact: the transfer ends as refused."""
        with self.lock:
            self.transfers[external_userid].status = REFUSED

    def calls(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    # ---------------------------------------------------------------- the API

    def answer(
        self, method: str, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            code, extra = self._dispatch(method, path, query, body, raw)
            self.received.append(Received(method, path, query, body, code))
        return 200, {"errcode": code, "errmsg": MESSAGES.get(code, "error"), **extra}

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        routes = {
            ("GET", "gettoken"): self._gettoken,
            ("GET", "externalcontact/list"): self._list,
            ("GET", "externalcontact/get"): self._get,
            ("POST", "externalcontact/batch/get_by_user"): self._batch_get_by_user,
            ("POST", "externalcontact/resigned/transfer_customer"): self._transfer_customer,
            ("POST", "externalcontact/resigned/transfer_result"): self._transfer_result,
        }
        handler = routes.get((method, path))
        if handler is None:
            return INVALID_PARAM, {}
        if path != "gettoken":
            token = query.get("access_token", "")
            if not token:
                return MISSING_TOKEN, {}
            if token not in self.tokens:
                # WeCom tells an expired token apart from one it never issued.
                return (TOKEN_EXPIRED if token.startswith("tok-") else INVALID_TOKEN), {}
        for i, (fail_path, errcode) in enumerate(self._fail):
            if fail_path == path:
                del self._fail[i]
                return errcode, {}
        if method == "POST" and not isinstance(body, dict):
            return INVALID_PARAM, {}
        return handler(query, body or {})

    def _gettoken(self, query: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        if query.get("corpid") != self.corpid:
            return INVALID_CORPID, {}
        if query.get("corpsecret") != self.secret:
            return INVALID_SECRET, {}
        token = f"tok-{secrets.token_hex(16)}"
        self.tokens.add(token)
        self.tokens_issued += 1
        return OK, {"access_token": token, "expires_in": 7200}

    def _contact(self, c: Customer) -> dict[str, Any]:
        return {
            "external_userid": c.external_userid,
            "name": c.name,
            "position": c.position,
            "avatar": "",
            "corp_name": c.corp_name,
            "corp_full_name": c.corp_name + "有限公司",
            "type": c.type,
            "gender": 0,
        }

    def _follow(self, c: Customer) -> dict[str, Any]:
        return {
            "userid": c.owner,
            "remark": c.remark,
            "description": "",
            "createtime": 1700000000,
            "tag_id": [],
            "remark_corp_name": c.corp_name,
            "remark_mobiles": list(c.mobiles),
            "oper_userid": c.owner,
            "add_way": 1,
        }

    def _list(self, query: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        userid = query.get("userid", "")
        if not userid:
            return INVALID_PARAM, {}
        ids = sorted(e for e, c in self.customers.items() if c.owner == userid)
        return OK, {"external_userid": ids}

    def _get(self, query: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        c = self.customers.get(query.get("external_userid", ""))
        if c is None:
            return NOT_FOLLOWED, {}
        return OK, {"external_contact": self._contact(c), "follow_user": [self._follow(c)]}

    def _batch_get_by_user(self, _query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        users = body.get("userid_list")
        limit = body.get("limit", 50)
        if (
            not isinstance(users, list)
            or not 1 <= len(users) <= MAX_IDS
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_IDS
        ):
            return INVALID_PARAM, {}
        found = sorted(
            (c for c in self.customers.values() if c.owner in users),
            key=lambda c: c.external_userid,
        )
        cursor = body.get("cursor") or ""
        start = int(cursor) if cursor.isdigit() else 0
        page = found[start : start + limit]
        more = start + limit < len(found)
        return OK, {
            "external_contact_list": [
                {"external_contact": self._contact(c), "follow_info": self._follow(c)} for c in page
            ],
            "next_cursor": str(start + limit) if more else "",
        }

    def _transfer_customer(self, _query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        handover, takeover = body.get("handover_userid"), body.get("takeover_userid")
        ids = body.get("external_userid")
        if (
            not isinstance(handover, str)
            or not isinstance(takeover, str)
            or not handover
            or not takeover
            or not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_IDS
        ):
            return INVALID_PARAM, {}
        if handover == takeover:
            return SAME_MEMBER, {}
        answers = []
        for eid in ids:
            c = self.customers.get(eid)
            current = self.transfers.get(eid)
            if eid in self.refuse:
                code = self.refuse[eid]
            elif c is None or c.owner != handover:
                code = NOT_FOLLOWED
            elif current is not None and current.status == WAITING:
                code = IN_TRANSFER
            elif c.transfers >= 2:
                code = TOO_FREQUENT
            else:
                code = OK
                c.transfers += 1
                self.transfers[eid] = Transfer(handover, takeover, WAITING)
            answers.append({"external_userid": eid, "errcode": code})
        return OK, {"customer": answers}

    def _transfer_result(self, _query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        handover, takeover = body.get("handover_userid"), body.get("takeover_userid")
        if not handover or not takeover:
            return INVALID_PARAM, {}
        found = sorted(
            (
                (eid, t)
                for eid, t in self.transfers.items()
                if t.handover == handover and t.takeover == takeover
            ),
            key=lambda p: p[0],
        )
        cursor = body.get("cursor") or ""
        start = int(cursor) if cursor.isdigit() else 0
        page = found[start : start + MAX_IDS]
        more = start + MAX_IDS < len(found)
        return OK, {
            "customer": [
                {"external_userid": eid, "status": t.status, "takeover_time": t.takeover_time}
                for eid, t in page
            ],
            "next_cursor": str(start + MAX_IDS) if more else "",
        }
