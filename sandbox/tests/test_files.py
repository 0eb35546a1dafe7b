"""Files: the sandbox names attachments exactly as VSee's docs do, and serves no file itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from .helpers import ADMIN, MEMBER, api, data

EXAMPLES = Path(__file__).parent / "fixtures" / "seed_examples"
# The one attachment VSee's docs show (GET /intakes/:id): its keys are all an answer may carry.
DOCUMENTED = json.loads((EXAMPLES / "intake_get.json").read_text())["data"]["attachments"][0]
PATH = re.compile(r"^files/\d{4}/\d{2}/\d{2}/(?P<id>[0-9a-f-]+)\.(?P<ext>[a-z0-9]+)$")


def attachments_in(body: Any) -> list[dict[str, Any]]:
    """Every file object anywhere in an answer (an intake's, a post-visit note's)."""
    found: list[dict[str, Any]] = []
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            files = value.get("attachments")
            if isinstance(files, list):
                found.extend(f for f in files if isinstance(f, dict))
            stack.extend(v for k, v in value.items() if k != "attachments")
        elif isinstance(value, list):
            stack.extend(value)
    return found


async def test_every_attachment_has_the_documented_keys_and_a_relative_path(
    client: httpx.AsyncClient,
) -> None:
    assert PATH.match(DOCUMENTED["path"])  # the docs' own example fits the pattern
    files: list[dict[str, Any]] = []
    for headers in (ADMIN, MEMBER):
        rows = await data(client, "GET", "/visits?limit=100", headers=headers)
        for row in rows:
            detail = await data(client, "GET", f"/visits/{row['id']}", headers=headers)
            files.extend(attachments_in(detail))
            intake = detail.get("intake") or {}
            if intake.get("id"):
                got = await data(client, "GET", f"/intakes/{intake['id']}", headers=headers)
                files.extend(attachments_in(got))
    assert files, "the seeded data has attachments"
    for file in files:
        # No `url`, no absolute path: what VSee documents and nothing the gateway adds.
        assert set(file) == set(DOCUMENTED), file
        match = PATH.match(file["path"])
        assert match, file["path"]
        assert (match["id"], match["ext"]) == (file["_id"], file["ext"])


async def test_an_attachment_path_is_no_sandbox_route(client: httpx.AsyncClient) -> None:
    # VSee's docs show no file download under api_v3: the sandbox answers such a path only
    # with the documented error body, never a file or a made-up shape.
    for path in ("/" + DOCUMENTED["path"], "/files/index/app_user/photo/1096/"):
        response = await client.get(api(path), headers=MEMBER)
        assert response.status_code == 404, response.text
        assert set(response.json()) == {"code", "message"}
        assert response.json()["code"] == 404
