"""HTTP subscription streams under stress: disconnects, slow clients, limits, 1,000 at once."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace

from gateway.upstream import Credentials
from tests.http.stream_schema import GENERATORS
from tests.http.streams import (
    MEMBER,
    MULTIPART,
    SSE,
    StreamGateway,
    multipart_parts,
    serve_streams,
    sse_events,
    wait_for,
)

TICKS = "subscription { ticks { n } }"


def test_a_client_disconnect_closes_the_subscription_generator() -> None:
    with serve_streams() as gateway:
        for accept in (SSE, MULTIPART):
            closed = GENERATORS.closed
            with gateway.stream(TICKS, accept=accept) as response:
                if accept is SSE:
                    events = sse_events(response)
                    assert next(events) == ("", None)  # the opening comment
                    assert next(events) == ("next", {"data": {"ticks": {"n": 0}}})
                else:
                    parts = multipart_parts(response)
                    assert next(parts) == {}
                    assert next(parts) == {"payload": {"data": {"ticks": {"n": 0}}}}
                assert gateway.streams.open == 1
            # Leaving the block closes the connection mid-stream.
            wait_for(lambda closed=closed: GENERATORS.closed == closed + 1, "the generator")
            wait_for(lambda: gateway.streams.open == 0, "the stream to end")
            assert gateway.streams.by_caller == {}


def test_a_stream_outlives_the_request_deadline_and_gives_back_its_admission_slot() -> None:
    # Deadline 1 s (+2 s hard stop): a request would be cut off; one slot for requests.
    with (
        serve_streams(request_deadline=1, max_concurrent_requests=1, stream_heartbeat=0.25) as gw,
        gw.stream(TICKS) as response,
    ):
        events = sse_events(response)
        assert next(events) == ("", None)  # the opening comment
        assert next(events)[0] == "next"
        # With the stream holding nothing, a query still runs at once in the only slot.
        assert gw.http.post(gw.url, json={"query": "{ hello }"}).json() == {
            "data": {"hello": "world"}
        }
        # 16 keep-alives, each after 0.25 s of silence: at least 4 s, past the hard stop.
        for keepalives, event in enumerate(events, 1):
            assert event == ("", None)
            if keepalives == 16:
                break
        assert gw.streams.open == 1


def test_subscriptions_per_caller_are_limited() -> None:
    other = {"X-ApiToken": "other-token", "X-AccountCode": "vclinic"}
    with serve_streams(live_max_subscriptions_per_caller=2) as gateway:
        with gateway.stream(TICKS) as one, gateway.stream(TICKS) as two:
            # Kept: an abandoned reader would close its response (and so the stream).
            readers = [sse_events(one), sse_events(two)]
            for reader in readers:
                assert next(e for e in reader if e[0])[0] == "next"
            with gateway.stream(TICKS) as third:
                [(kind, body), end] = [e for e in sse_events(third) if e[0]]
            assert (kind, end) == ("next", ("complete", None))
            assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            # Multipart clients get it as a plain GraphQL response.
            with gateway.stream(TICKS, accept=MULTIPART) as third:
                assert third.status_code == 429
                assert third.headers["content-type"].startswith("application/json")
                third.read()
                assert third.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            # Another caller has its own allowance.
            with gateway.stream(TICKS, headers=other) as theirs:
                assert next(e for e in sse_events(theirs) if e[0])[0] == "next"
            wait_for(lambda: gateway.streams.open == 2, "theirs to end with its connection")
            assert len(gateway.streams.by_caller) == 1
        wait_for(lambda: gateway.streams.by_caller == {}, "the streams to end")
        with gateway.stream(TICKS) as again:
            assert next(e for e in sse_events(again) if e[0])[0] == "next"
        # Both refusals are in /metrics, by transport and reason.
        assert dropped(gateway, "sse", "limit") == 1
        assert dropped(gateway, "multipart", "limit") == 1


def test_a_client_that_stops_reading_is_dropped_with_a_coded_error() -> None:
    buffer = 256 * 1024
    with serve_streams(stream_buffer_bytes=buffer) as gateway:
        # Megabytes wait in the sockets' buffers: give this client all the time it needs to
        # read them and still get the stream's last parts.
        gateway.streams.policy = replace(gateway.streams.policy, final_write_timeout=300)
        closed = GENERATORS.closed
        body = json.dumps({"query": "subscription { flood(size: 65536) }"}).encode()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # A small receive window: the server's socket buffers fill after kilobytes, not
            # the megabytes loopback autotuning allows, so the drop comes from the stream's
            # own byte bound however loaded the machine is.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", gateway.server.port))
            sock.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nAccept: text/event-stream\r\n"
                b"X-ApiToken: member-token\r\nX-AccountCode: vclinic\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            # Not reading: the server's queue for this stream fills up to its byte bound.
            wait_for(
                lambda: gateway.streams.dropped == 1, "the slow client to be dropped", timeout=120
            )
            wait_for(lambda: GENERATORS.closed == closed + 1, "the generator to close")
            # Reading again: what was on its way, then the coded error and the end.
            received = bytearray()
            sock.settimeout(30)
            # Up to the last chunk of the (chunked) response.
            while not received.endswith(b"\r\n0\r\n\r\n"):
                chunk = sock.recv(1 << 20)
                assert chunk, "the connection closed before the end of the stream"
                received.extend(chunk)
        text = received.decode()
        assert text.startswith("HTTP/1.1 200")
        assert text.endswith("event: complete\ndata:\n\n\r\n0\r\n\r\n")
        last_next = text.rsplit("event: next\ndata: ", 1)[1].split("\n", 1)[0]
        assert json.loads(last_next)["errors"][0]["extensions"]["code"] == "SLOW_CONSUMER"
        wait_for(lambda: gateway.streams.open == 0, "the stream to end")
        assert dropped(gateway, "sse", "slow_consumer") == 1
        assert sample(gateway, "gateway_streams_open", transport="sse") == 0


def test_streams_ended_or_refused_by_a_drain_count_as_shutdown() -> None:
    with serve_streams() as gateway:
        with gateway.stream(TICKS, accept=MULTIPART) as response:
            parts = (part for part in multipart_parts(response) if part != {})
            assert next(parts) == {"payload": {"data": {"ticks": {"n": 0}}}}
            assert sample(gateway, "gateway_streams_open", transport="multipart") == 1
            assert sample(gateway, "gateway_streams_opened_total", transport="multipart") == 1
            # What SIGTERM does (app.py's handler), on the server's own loop.
            [stream] = gateway.streams._streams
            assert stream._writer is not None
            stream._writer.get_loop().call_soon_threadsafe(gateway.streams.drain)
            assert list(parts) == ["--"]
        with gateway.stream(TICKS) as refused:
            assert refused.status_code == 503
        wait_for(lambda: gateway.streams.open == 0, "the stream to end")
        assert dropped(gateway, "multipart", "shutdown") == 1
        assert dropped(gateway, "sse", "shutdown") == 1
        assert sample(gateway, "gateway_streams_open", transport="multipart") == 0


def sample(gateway: StreamGateway, name: str, **labels: str) -> float:
    value = gateway.app.state.metrics.registry.get_sample_value(name, labels)
    return float(value or 0)


def dropped(gateway: StreamGateway, transport: str, reason: str) -> float:
    return sample(gateway, "gateway_streams_dropped_total", transport=transport, reason=reason)


def test_a_thousand_streams_open_then_close_leaving_nothing_behind() -> None:
    streams = 1000
    with serve_streams(live_max_subscriptions_per_caller=streams) as gateway:
        started, closed = GENERATORS.started, GENERATORS.closed
        port = gateway.server.port
        body = json.dumps({"query": TICKS}).encode()
        request = (
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nAccept: text/event-stream\r\n"
            b"X-ApiToken: member-token\r\nX-AccountCode: vclinic\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )

        async def open_one() -> asyncio.StreamWriter:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await reader.readuntil(b"event: next\n")  # subscribed: its first event is here
            return writer

        member_scope = Credentials.from_headers({k.lower(): v for k, v in MEMBER.items()}).scope

        async def hold_all() -> None:
            writers = await asyncio.gather(*(open_one() for _ in range(streams)))
            assert gateway.streams.open == streams
            assert gateway.streams.by_caller == {member_scope: streams}
            assert GENERATORS.started - started == streams
            assert GENERATORS.closed == closed
            for writer in writers:
                writer.close()
            await asyncio.gather(*(writer.wait_closed() for writer in writers))

        asyncio.run(hold_all())
        wait_for(lambda: GENERATORS.closed - closed == streams, "every generator to close", 60)
        wait_for(lambda: gateway.streams.open == 0, "every stream to end", 60)
        assert gateway.streams.by_caller == {}
        assert GENERATORS.open == 0
