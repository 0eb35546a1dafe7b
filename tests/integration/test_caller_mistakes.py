"""A caller's mistakes get a clear coded 4xx, never an internal error, and cost others nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from tests.conftest import MEMBER, gateway_settings
from tests.servers import Gateway, Sandbox, free_port, gateway_command, wait_until_healthy

CREATE = (
    'mutation Create($cf: JSON) { createIntake(input: {reasonForVisit: "x", customFields: $cf})'
    " { __typename } }"
)


def _code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


@pytest.mark.parametrize("value", [b"tok\x7fen", b"t\xc3\xa9l\xc3\xa9", b"tok\x01en"])
@pytest.mark.parametrize("header", ["X-ApiToken", "X-AccountCode", "X-ApiKey"])
def test_credential_headers_with_bad_bytes_are_refused(
    gateway: Gateway, upstream: Sandbox, header: str, value: bytes
) -> None:
    headers: dict[str, str | bytes] = {"X-ApiToken": MEMBER, "X-AccountCode": "vclinic"}
    headers[header] = value
    response = gateway.http.post(
        f"{gateway.url}/graphql", json={"query": "{ rooms { nodes { code } } }"}, headers=headers
    )
    assert response.status_code == 400
    assert _code(response) == "UNAUTHENTICATED"
    assert header in response.json()["errors"][0]["message"]
    assert value.decode("latin-1") not in response.text
    assert upstream.total() == 0


@pytest.mark.parametrize(
    "raw_custom_fields",
    [
        '{"a": 99999999999999999999999}',  # beyond 64 bits: reached VSee as "1e+23"
        '{"a": 18446744073709551615}',
        '{"a": 1e23}',
        "[" * 1000 + "]" * 1000,
        '{"a": ' * 600 + "1" + "}" * 600,
    ],
)
def test_json_inputs_out_of_bounds_are_bad_user_input(
    gateway: Gateway, upstream: Sandbox, raw_custom_fields: str
) -> None:
    body = f'{{"query": {json.dumps(CREATE)}, "variables": {{"cf": {raw_custom_fields}}}}}'
    response = gateway.http.post(
        f"{gateway.url}/graphql",
        content=body.encode(),
        headers={
            "X-ApiToken": MEMBER,
            "X-AccountCode": "vclinic",
            "content-type": "application/json",
        },
    )
    assert response.status_code in (200, 400), response.text
    assert _code(response) in ("BAD_USER_INPUT", "BAD_REQUEST")
    assert upstream.total() == 0


@pytest.mark.parametrize("literal", ["99999999999999999999999", "1e23", "-" + "9" * 5000])
def test_json_literals_out_of_bounds_are_bad_user_input(
    gateway: Gateway, upstream: Sandbox, literal: str
) -> None:
    query = (
        f'mutation {{ createIntake(input: {{reasonForVisit: "x", customFields: {{a: {literal}}}}})'
        " { __typename } }"
    )
    response = gateway.post(query, token=MEMBER)
    assert _code(response) == "BAD_USER_INPUT", response.text
    assert "INTERNAL" not in response.text
    assert upstream.total() == 0


def test_variable_coercion_errors_have_a_code(gateway: Gateway, upstream: Sandbox) -> None:
    response = gateway.post(
        "query Page($n: Int!) { visits(first: $n) { totalCount } }", {"n": "ten"}, token=MEMBER
    )
    assert _code(response) == "BAD_USER_INPUT"
    assert upstream.total() == 0


def test_a_slow_body_is_408_not_an_upstream_timeout(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    """Before: answered 504 UPSTREAM_TIMEOUT after 22 s, though VSee was never called."""
    gateway = make_gateway(body_timeout=0.5)
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"query": '
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"REQUEST_TIMEOUT" in answer
    assert upstream.total() == 0


@pytest.fixture(params=["httptools", "h11"])
def bounded_server(sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[int]:
    """A gateway served as `vsee-gateway serve` serves it: with a bounded HTTP protocol (both:
    httptools' when installed, h11's otherwise)."""
    from gateway.http import BoundedH11Protocol, BoundedHttpToolsProtocol, set_header_timeout

    protocol = BoundedHttpToolsProtocol if request.param == "httptools" else BoundedH11Protocol
    assert protocol is not None, "httptools is a dependency of the gateway"
    port = free_port()
    set_header_timeout(0.5)
    config = uvicorn.Config(
        create_app(gateway_settings(sandbox)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=protocol,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline
        assert thread.is_alive()
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        set_header_timeout(10.0)


def test_slow_headers_are_cut_off(bounded_server: int) -> None:
    """Before: 300 slow-loris sockets stayed open for 40 s; now each is closed with a 408."""
    sockets = [socket.create_connection(("127.0.0.1", bounded_server)) for _ in range(20)]
    try:
        for sock in sockets:
            sock.settimeout(10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")  # never finished
        for sock in sockets:
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    finally:
        for sock in sockets:
            sock.close()
    # An idle connection that never sends a byte is closed too.
    with socket.create_connection(("127.0.0.1", bounded_server), timeout=10) as idle:
        assert _read_all(idle).startswith(b"HTTP/1.1 408")
    # A client that sends its request in good time is unaffected.
    assert httpx.get(f"http://127.0.0.1:{bounded_server}/healthz").status_code == 200


def test_a_keep_alive_connection_gets_the_header_bound_for_each_request(
    bounded_server: int,
) -> None:
    with socket.create_connection(("127.0.0.1", bounded_server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the second head never ends
        assert b"HTTP/1.1 408" in _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversized_request_head_gets_a_coded_answer(
    bounded_server: int, request: pytest.FixtureRequest
) -> None:
    """httptools keeps no bound on a head's size of its own: the bounded one refuses past 16 KiB
    (h11's own limit, which h11 applies to heads still incomplete)."""
    if request.node.callspec.params["bounded_server"] == "h11":
        pytest.skip("h11 bounds a head by its own limit on incomplete data")
    with socket.create_connection(("127.0.0.1", bounded_server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * 20_000)
        sock.sendall(b"\r\n\r\n")
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # A head within the bound is served.
    with socket.create_connection(("127.0.0.1", bounded_server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: " + b"a" * 8_000 + b"\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_vsee_gateway_serve_bounds_request_heads(upstream: Sandbox) -> None:
    """As an operator runs it: `vsee-gateway serve` uses the bounded protocol."""
    port = free_port()
    process = subprocess.Popen(
        gateway_command("serve", "--port", str(port)),
        env={
            **os.environ,
            "VSEE_API_URL": upstream.api_url,
            "VSEE_LOG_LEVEL": "warning",
            "VSEE_HEADER_TIMEOUT": "0.5",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            assert _read_all(sock).startswith(b"HTTP/1.1 408")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_bodies_being_received_are_bounded_in_total(
    make_gateway: Callable[..., Gateway], upstream: Sandbox
) -> None:
    """Before: 300 sockets each sending most of a 1 MB body held 300 MB until the body timeout
    (no bound on connections or on the bodies they send): a stranger could OOM the pod."""
    gateway = make_gateway(max_body_bytes=4096, max_pending_body_bytes=6000)
    port = int(gateway.url.rsplit(":", 1)[1])
    head = (
        b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 4000\r\n\r\n"
    )
    holders = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        holders[0].sendall(head + b'{"query": "' + b" " * 3500)
        # The second body cannot fit beside the first: refused at once, not held in memory.
        holders[1].sendall(head + b'{"query": "' + b" " * 3500)
        answer = _read_all(holders[1])
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b"OVERLOADED" in answer
        assert b"retry-after: 1" in answer.lower()
        assert b"cache-control: private, no-store" in answer.lower()
    finally:
        for sock in holders:
            sock.close()
    # Once the first request ends, its bytes are free again (polled: the server notices the
    # closed socket on its own schedule).
    for _ in range(200):
        response = gateway.post("{ __typename }")
        if response.status_code == 200:
            break
        time.sleep(0.05)
    assert response.status_code == 200, response.text
    assert upstream.total() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /graphql HTTP/1.1\r\nhost: x\r\nbad header: y\r\n\r\n",
        b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello",
    ],
)
def test_malformed_http_gets_a_coded_private_answer(bounded_server: int, raw: bytes) -> None:
    """Before: uvicorn's plain-text "Invalid HTTP request received.", no code, no caching."""
    with socket.create_connection(("127.0.0.1", bounded_server), timeout=10) as sock:
        sock.sendall(raw)
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"cache-control: private, no-store" in head.lower()
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/metrics", 404, "NOT_FOUND"),  # served on its own port only
        ("GET", "/graphql/../etc/passwd", 404, "NOT_FOUND"),
        ("POST", "/healthz", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/readyz", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_unknown_routes_and_methods_get_coded_answers(
    gateway: Gateway, method: str, path: str, status: int, code: str
) -> None:
    """Before: Starlette's plain-text "Not Found" / "Method Not Allowed", with no code."""
    response = gateway.http.request(method, f"{gateway.url}{path}", headers={"X-ApiToken": "t"})
    assert response.status_code == status
    assert _code(response) == code
    assert response.headers["cache-control"] == "private, no-store"
    if status == 405:
        assert "GET" in response.headers["allow"]
