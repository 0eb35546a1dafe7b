"""GraphQL-over-HTTP at /graphql: media types, status codes and malformed requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.http._view import _is_internal, _is_request_error
from gateway.settings import Settings

MAX_BODY_BYTES = Settings().max_body_bytes

NEW = "application/graphql-response+json"
OLD = "application/json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


async def post(
    client: httpx.AsyncClient,
    body: Any,
    *,
    accept: str | None = NEW,
    content_type: str | None = OLD,
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["accept"] = accept
    if content_type is not None:
        headers["content-type"] = content_type
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/graphql", content=content, headers=headers)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (NEW, NEW),
        (OLD, OLD),
        (None, OLD),
        ("*/*", OLD),
        (f"{NEW}, {OLD};q=0.9", NEW),
    ],
)
async def test_answers_in_the_negotiated_media_type(
    client: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.headers["vary"].startswith("Accept, X-ApiToken")
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept="text/plain")
    assert response.status_code == 406
    assert media_type(response) == OLD
    assert codes(response) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        ({"query": "{"}, "parse"),
        ({"query": "{ noSuchField }"}, "validation"),
        (
            {"query": "query ($id: ID!) { visit(id: $id) { id } }", "variables": {"id": None}},
            "variables",
        ),
        ({"query": "query ($id: ID!) { visit(id: $id) { id } }"}, "variables"),
        ({"query": "query A { __typename }", "operationName": "B"}, "operation name"),
    ],
)
@pytest.mark.parametrize(("accept", "status"), [(NEW, 400), (OLD, 200)])
async def test_request_errors_have_no_data_and_the_spec_status(
    client: httpx.AsyncClient, body: dict[str, Any], failure: str, accept: str, status: int
) -> None:
    response = await post(client, body, accept=accept)
    assert response.status_code == status, failure
    assert media_type(response) == accept
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"], failure


@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_field_errors_with_partial_data_are_200(
    client: httpx.AsyncClient, accept: str
) -> None:
    # No credentials: currentVisit fails without calling VSee, __typename still resolves.
    response = await post(client, {"query": "{ __typename currentVisit { id } }"}, accept=accept)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"__typename": "Query", "currentVisit": None}
    assert payload["errors"][0]["path"] == ["currentVisit"]


@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_field_error_nulling_the_whole_data_is_still_200(
    client: httpx.AsyncClient, accept: str
) -> None:
    # rooms is non-null, so its error nulls data itself; execution did happen.
    response = await post(client, {"query": "{ rooms { nodes { code } } }"}, accept=accept)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["path"] == ["rooms"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "A batch holds"),
        (b"[42]", "must be a JSON object"),
        (b'"{ __typename }"', "JSON object"),
        (b"42", "JSON object"),
        (b"null", "JSON object"),
    ],
)
@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_malformed_bodies_are_400(
    client: httpx.AsyncClient, content: bytes, message: str, accept: str
) -> None:
    response = await post(client, content, accept=accept)
    assert response.status_code == 400
    assert media_type(response) == accept
    assert message in response.json()["errors"][0]["message"]
    assert codes(response) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({}, "query"),
        ({"query": None}, "query"),
        ({"query": ""}, "query"),
        ({"notquery": "{ __typename }"}, "query"),
        ({"query": {"obj": "ect"}}, "query"),
        ({"query": 0}, "query"),
        ({"query": False}, "query"),
        ({"query": ["array"]}, "query"),
        ({"query": "{ __typename }", "operationName": 0}, "operationName"),
        ({"query": "{ __typename }", "operationName": ["A"]}, "operationName"),
        ({"query": "{ __typename }", "variables": "string"}, "variables"),
        ({"query": "{ __typename }", "variables": []}, "variables"),
        ({"query": "{ __typename }", "variables": 0}, "variables"),
        ({"query": "{ __typename }", "extensions": "string"}, "extensions"),
        ({"query": "{ __typename }", "extensions": [1]}, "extensions"),
    ],
)
async def test_bad_parameters_are_400(
    client: httpx.AsyncClient, body: dict[str, Any], parameter: str
) -> None:
    response = await post(client, body, accept=OLD)
    assert response.status_code == 400
    assert f"`{parameter}`" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("parameter", ["variables", "operationName", "extensions"])
async def test_null_optional_parameters_are_fine(client: httpx.AsyncClient, parameter: str) -> None:
    response = await post(client, {"query": "{ __typename }", parameter: None})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_variables_operation_name_and_extensions_are_used(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "query": "query A { __typename } query B($n: String!) { __type(name: $n) { name } }",
        "operationName": "B",
        "variables": {"n": "Room"},
        "extensions": {"some": "value"},
    }
    response = await post(client, body)
    assert response.status_code == 200
    assert response.json() == {"data": {"__type": {"name": "Room"}}}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_other_content_types_are_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    response = await post(client, {"query": "{ __typename }"}, content_type=content_type)
    assert response.status_code == 415
    assert codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", 'Application/JSON; Charset="UTF-8"']
)
async def test_json_with_utf8_charset_is_accepted(
    client: httpx.AsyncClient, content_type: str
) -> None:
    body = {"query": '{ __type(name: "Run🏃Swim🏊") { name } }'}
    response = await post(client, body, content_type=content_type)
    assert response.status_code == 200
    assert response.json() == {"data": {"__type": None}}


async def test_oversized_bodies_are_413(client: httpx.AsyncClient) -> None:
    padding = "#" * MAX_BODY_BYTES
    response = await post(client, {"query": f"{padding}\n{{ __typename }}"})
    assert response.status_code == 413
    assert codes(response) == ["PAYLOAD_TOO_LARGE"]


async def test_oversized_streamed_bodies_are_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    # No Content-Length: the limit must hold while reading, not only on the declared size.
    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": OLD, "accept": NEW}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD"])
async def test_other_methods_are_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/graphql", headers={"accept": NEW})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query T($name: String!) { __type(name: $name) { name } }",
            "variables": '{"name": "Visit"}',
            "operationName": "T",
            "extensions": '{"some": "value"}',
        },
        headers={"accept": NEW},
    )
    assert response.status_code == 200
    assert media_type(response) == NEW
    assert response.json() == {"data": {"__type": {"name": "Visit"}}}


async def test_get_with_a_browser_accept_header_and_a_query_gets_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": BROWSER}
    )
    assert response.status_code == 200
    assert media_type(response) == OLD


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"query": "{ __typename }", "variables": "{"}, "variables"),
        ({"query": "{ __typename }", "variables": "[1]"}, "variables"),
        ({"query": "{ __typename }", "extensions": "nope"}, "extensions"),
        ({"variables": "{}"}, "query"),
    ],
)
async def test_get_with_bad_parameters_is_400(
    client: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/graphql", params=params, headers={"accept": NEW})
    assert response.status_code == 400
    assert f"`{parameter}`" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("accept", [NEW, OLD, None])
@pytest.mark.parametrize(
    "query",
    [
        'mutation { createWalkin(input: {roomCode: "x"}) { __typename } }',
        "mutation { __typename }",
        "query Q { __typename } mutation M { __typename }",
    ],
)
async def test_get_refuses_mutations_with_405(
    client: httpx.AsyncClient, accept: str | None, query: str
) -> None:
    params = {"query": query}
    if query.startswith("query Q"):
        params["operationName"] = "M"
    headers = {"accept": accept} if accept else {}
    # The upstream transport fails the test if the mutation reached VSee.
    response = await client.get("/graphql", params=params, headers=headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert codes(response) == ["METHOD_NOT_ALLOWED"]


async def test_get_runs_the_query_of_a_document_that_also_has_a_mutation(
    client: httpx.AsyncClient,
) -> None:
    params = {"query": "query Q { __typename } mutation M { __typename }", "operationName": "Q"}
    response = await client.get("/graphql", params=params)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_without_query_is_400_for_api_clients(client: httpx.AsyncClient) -> None:
    for accept in (NEW, OLD, "*/*", None):
        headers = {"accept": accept} if accept else {}
        response = await client.get("/graphql", headers=headers)
        assert response.status_code == 400, accept
        assert "no `query`" in response.json()["errors"][0]["message"]


async def test_browsers_get_graphiql(web_modules: Path, client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER})
    assert response.status_code == 200
    assert media_type(response) == "text/html"
    assert "GraphiQL" in response.text


async def test_with_graphiql_off_browsers_get_a_graphql_answer(make_client: MakeClient) -> None:
    client = await make_client(graphiql=False)
    response = await client.get("/graphql", headers={"accept": BROWSER})
    assert response.status_code == 400
    assert media_type(response) == OLD
    assert "no `query`" in response.json()["errors"][0]["message"]
    # Asking for HTML only then has no acceptable answer.
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 406


def test_request_error_classification() -> None:
    located = GraphQLError("Variable '$id' of non-null type 'ID!' must not be null.")
    field = GraphQLError("boom", path=["rooms"])
    assert _is_request_error(PreExecutionError(data=None, errors=[located]))
    assert _is_request_error(ExecutionResult(data=None, errors=[located]))
    assert not _is_request_error(ExecutionResult(data=None, errors=[field]))
    assert not _is_request_error(ExecutionResult(data={"a": None}, errors=[located]))
    assert not _is_request_error(ExecutionResult(data={"a": 1}, errors=None))


def test_internal_failures_are_told_apart_from_the_clients() -> None:
    assert _is_internal([GraphQLError("x", original_error=RuntimeError("bug"))])
    assert _is_internal([GraphQLError("x", extensions={"code": "INTERNAL_SERVER_ERROR"})])
    assert not _is_internal([GraphQLError("Syntax Error: Expected Name, found <EOF>.")])
    inner = GraphQLError("inner")
    assert not _is_internal([GraphQLError("x", original_error=inner)])
