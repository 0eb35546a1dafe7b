"""JSON log lines carry the request id and extras, and nothing else is invented."""

import json
import logging

from gateway.observability import JsonFormatter, RequestIdFilter
from gateway.upstream import request_id


def test_json_line_with_request_id_and_extras() -> None:
    record = logging.LogRecord("gateway.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.endpoint = "GET /visits"
    token = request_id.set("rid-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert line["level"] == "info"
    assert line["request_id"] == "rid-1"
    assert line["endpoint"] == "GET /visits"
    assert line["time"].endswith("+00:00")
