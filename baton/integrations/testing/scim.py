"""A real SCIM 2.0 server on 127.0.0.1 for tests and the demo: `scim2-server` (the reference
implementation that ships with scim2-models) run as a subprocess on a free port with a bearer
token. It is seeded with users and groups through SCIM itself, read back independently of
Baton's connector (plain httpx), and stops itself on exit.

    with ScimServer() as server:
        alice = server.add_user("alice@hx.example", groups=["engineering"])
        ...
        assert server.user(alice)["active"] is False
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
JSON = {"Content-Type": "application/scim+json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary() -> str:
    found = Path(sys.executable).parent / "scim2-server"
    if not found.exists():
        raise RuntimeError("scim2-server is not installed (pip install scim2-server).")
    return str(found)


class ScimServer:
    def __init__(self, token: str | None = None, port: int | None = None) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.groups: dict[str, str] = {}  # name → id

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}", **JSON},
            timeout=10,
            trust_env=False,
        )

    # ------------------------------------------------------------ process

    def start(self) -> ScimServer:
        self.proc = subprocess.Popen(  # noqa: S603 — the venv's own scim2-server
            [
                _binary(),
                "--hostname",
                "127.0.0.1",
                "--port",
                str(self.port),
                # "=": a token may start with "-", which argparse would take for an option.
                f"--bearer-token={self.token}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        with self.http() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"scim2-server exited with {self.proc.returncode}")
                try:
                    if client.get("/ServiceProviderConfig").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("scim2-server did not answer within 20 s")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (the port then refuses connections: a system that is down)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def __enter__(self) -> ScimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ seeding, through SCIM

    def group(self, name: str) -> str:
        """The id of the group `name`, created on first use."""
        if name not in self.groups:
            with self.http() as client:
                r = client.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": name})
                r.raise_for_status()
                self.groups[name] = r.json()["id"]
        return self.groups[name]

    def add_user(
        self,
        user_name: str,
        *,
        email: str | None = None,
        groups: list[str] = (),  # type: ignore[assignment]
        active: bool = True,
        external_id: str | None = None,
    ) -> str:
        """Create a user (and add it to the groups named); returns its id."""
        body: dict[str, Any] = {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "active": active,
            "emails": [{"value": email or user_name, "primary": True}],
        }
        if external_id:
            body["externalId"] = external_id
        with self.http() as client:
            r = client.post("/Users", json=body)
            r.raise_for_status()
            user_id = str(r.json()["id"])
            for name in groups:
                op = {"op": "add", "path": "members", "value": [{"value": user_id}]}
                r = client.patch(
                    f"/Groups/{self.group(name)}",
                    json={"schemas": [PATCH_SCHEMA], "Operations": [op]},
                )
                r.raise_for_status()
        return user_id

    # ------------------------------------------------------------ reading back

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The user as the server has it now (None: not there)."""
        with self.http() as client:
            r = client.get(f"/Users/{user_id}")
            if r.status_code == 404:
                return None
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data

    def members(self, group: str) -> list[str]:
        """The ids of the members of the group `name`."""
        with self.http() as client:
            r = client.get(f"/Groups/{self.group(group)}")
            r.raise_for_status()
            return [m["value"] for m in r.json().get("members") or []]
