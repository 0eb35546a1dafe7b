"""Every error leaves with a code and a safe message; ambiguous documents are refused."""

import logging

import pytest
from graphql import GraphQLError

from gateway.schema import build_schema
from gateway.schema.errors import INTERNAL_MESSAGE, coded
from gateway.upstream import NotFound, UpstreamUnavailable


def test_gateway_errors_keep_their_message_and_code() -> None:
    error = GraphQLError(
        "x", path=["visit"], original_error=NotFound("visit 9 not found", status=404)
    )
    out = coded(error)
    assert out.message == "visit 9 not found"
    assert out.extensions == {"code": "NOT_FOUND"}
    assert out.path == ["visit"]
    assert coded(GraphQLError("x", original_error=UpstreamUnavailable("down"))).extensions == {
        "code": "UPSTREAM_UNAVAILABLE"
    }


def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="gateway.errors")
    secret = "http://10.0.0.1/internal?token=abc"
    out = coded(GraphQLError("boom", path=["rooms"], original_error=KeyError(secret)))
    assert out.message == INTERNAL_MESSAGE
    assert out.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert secret not in str(out.formatted)
    assert caplog.records
    assert caplog.records[0].exc_info is not None


async def test_several_operations_need_a_name() -> None:
    schema = build_schema()
    unnamed = await schema.execute("query A { __typename } query B { __typename }")
    assert unnamed.errors is not None
    assert unnamed.errors[0].extensions == {"code": "OPERATION_NAME_REQUIRED"}
    named = await schema.execute(
        "query A { __typename } query B { __typename }", operation_name="B"
    )
    assert named.errors is None


async def test_parse_errors_are_coded() -> None:
    result = await build_schema().execute("{ visit(id: ")
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "GRAPHQL_PARSE_FAILED"}
