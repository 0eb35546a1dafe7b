"""Constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx

# A Wednesday, 2023-11-15 10:13:20 UTC: seeded visits are placed around it.
NOW = 1_700_043_200
PREFIX = "/vc/next/api_v3"

MEMBER = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-member-token"}
PROVIDER = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-provider-token"}
ADMIN = {"X-AccountCode": "vclinic", "X-ApiToken": "demo-admin-token"}
SUN_MEMBER = {"X-AccountCode": "sunclinic", "X-ApiToken": "sun-member-token"}
SUN_PROVIDER = {"X-AccountCode": "sunclinic", "X-ApiToken": "sun-provider-token"}
PUBLIC = {"X-AccountCode": "vclinic"}


def api(path: str) -> str:
    return PREFIX + path


async def data(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    """Call the API, insist on 200 and return the `data` member."""
    response = await client.request(method, api(path), **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def error(
    client: httpx.AsyncClient, method: str, path: str, status: int, **kwargs: Any
) -> str:
    """Call the API, insist on an error answer with `status` and return its message."""
    response = await client.request(method, api(path), **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    return str(body["message"])


async def users(client: httpx.AsyncClient, account: str) -> list[dict[str, Any]]:
    body = (await client.get("/_sandbox/users")).json()
    return next(a["users"] for a in body["accounts"] if a["code"] == account)


def headers_for(user: dict[str, Any]) -> dict[str, str]:
    return {"X-AccountCode": user["account_code"], "X-ApiToken": user["token"]}
