"""Request bodies: multipart, urlencoded and JSON alike, PHP-style nesting, and bad bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vsee_sandbox._http import fold_pairs, parse_body

from .helpers import MEMBER, api, data, error


@pytest.mark.parametrize(
    ("pairs", "folded"),
    [
        ([("a", "1")], {"a": "1"}),
        ([("a", "1"), ("a", "2")], {"a": ["1", "2"]}),
        ([("a[]", "1"), ("a[]", "2")], {"a": ["1", "2"]}),
        ([("c[id]", "x"), ("c[amount]", "0")], {"c": {"id": "x", "amount": "0"}}),
        ([("f[0][id]", "x"), ("f[1][id]", "y")], {"f": [{"id": "x"}, {"id": "y"}]}),
        ([("f[][id]", "x"), ("f[][id]", "y")], {"f": [{"id": "x"}, {"id": "y"}]}),
        ([("odd[", "1"), ("[x]", "2")], {"odd[": "1", "[x]": "2"}),
    ],
)
def test_form_fields_fold_like_php(pairs: list[tuple[str, str]], folded: dict[str, Any]) -> None:
    assert fold_pairs(pairs) == folded


async def test_body_parser_by_content_type() -> None:
    assert await parse_body("application/json", b'{"a": 1}') == {"a": 1}
    assert await parse_body("application/x-www-form-urlencoded", b"a=1&b=") == {"a": "1", "b": ""}
    assert await parse_body(None, b'{"a": [1]}') == {"a": [1]}  # curl -d '{...}'
    assert await parse_body(None, b"a=1") == {"a": "1"}
    assert await parse_body("application/json", b"") == {}


ENCODINGS = ["multipart", "urlencoded", "json"]


async def post(client: httpx.AsyncClient, path: str, fields: dict[str, Any], how: str) -> Any:
    if how == "json":
        return await client.post(api(path), json=fields, headers=MEMBER)
    flat = {k: v if isinstance(v, str) else str(v) for k, v in fields.items()}
    if how == "multipart":
        files = {k: (None, v) for k, v in flat.items()}
        return await client.post(api(path), files=files, headers=MEMBER)
    return await client.post(api(path), data=flat, headers=MEMBER)


@pytest.mark.parametrize("how", ENCODINGS)
async def test_intake_fields_arrive_whatever_the_encoding(
    client: httpx.AsyncClient, how: str
) -> None:
    fields = {"reason_for_visit": "Cough", "type": "2", "location": "CA", "custom_color": "blue"}
    response = await post(client, "/intakes", fields, how)
    assert response.status_code == 200, response.text
    created = response.json()["data"]
    assert created == {"id": created["id"], "custom_color": "blue"}  # VSee's create answer
    stored = await client.get(api(f"/intakes/{created['id']}"), headers=MEMBER)
    intake = stored.json()["data"]
    assert intake["reason_for_visit"] == "Cough"
    assert intake["type"] == "2"
    assert intake["location"] == "CA"
    assert intake["custom_color"] == "blue"
    log = (await client.get("/_sandbox/requests")).json()["entries"][-2]  # the POST
    assert log["body"] == fields
    expected_type = {
        "multipart": "multipart/form-data",
        "urlencoded": "application/x-www-form-urlencoded",
        "json": "application/json",
    }[how]
    assert log["content_type"] == expected_type


@pytest.mark.parametrize("how", ENCODINGS)
async def test_closing_a_visit_whatever_the_encoding(client: httpx.AsyncClient, how: str) -> None:
    upcoming = await data(client, "GET", "/visits?status=20&type=2", headers=MEMBER)
    response = await post(client, "/visits/close", {"id": upcoming[0]["id"]}, how)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"id": upcoming[0]["id"]}}


async def test_bad_bodies_are_400(client: httpx.AsyncClient) -> None:
    broken = {**MEMBER, "Content-Type": "application/json"}
    message = await error(client, "POST", "/intakes", 400, content=b"{nope", headers=broken)
    assert message == "Malformed JSON body"
    await error(client, "POST", "/intakes", 400, content=b"[1, 2]", headers=broken)
    text = {**MEMBER, "Content-Type": "text/plain"}
    assert "text/plain" in await error(client, "POST", "/intakes", 400, content=b"hi", headers=text)
    multipart = {**MEMBER, "Content-Type": "multipart/form-data; boundary=xyz"}
    await error(client, "POST", "/intakes", 400, content=b"garbage", headers=multipart)


async def test_a_bad_body_still_needs_credentials_first(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json"}
    await error(client, "POST", "/intakes", 401, content=b"{nope", headers=headers)


async def test_a_file_part_is_taken_by_name(client: httpx.AsyncClient) -> None:
    files: dict[str, Any] = {
        "reason_for_visit": (None, "x"),
        "scan": ("scan.png", b"\x89PNG", "image/png"),
    }
    response = await client.post(api("/intakes"), files=files, headers=MEMBER)
    assert response.json()["data"]["scan"] == "scan.png"
