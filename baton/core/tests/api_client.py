"""One JSON call through Django's test client for the API tests: (status, decoded body)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


def json_call(client: Client, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    response = client.generic(method, url, **kwargs)
    return response.status_code, json.loads(response.content) if response.content else None
