"""Subscriptions over HTTP streams end to end: the real schema's fields, a real sandbox, real
clients (the npm graphql-sse client, Apollo Client's HttpLink, httpx) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.http import WEB_DIR
from tests.conftest import MEMBER, PROVIDER, SUN_MEMBER
from tests.servers import Gateway, Sandbox
from tests.tools.test_schema_tools import TOOLS as TOOLS_DIR

from .test_subscriptions import CLOSE, CURRENT, metric, new_walkin, start_call, wait_for
from .wsclient import credentials, socket

MakeGateway = Callable[..., tuple[Gateway, Any]]
SSE = {"Accept": "text/event-stream"}
MULTIPART = {"Accept": 'multipart/mixed;subscriptionSpec="1.0", application/json'}


def headers(token: str, account: str = "vclinic") -> dict[str, str]:
    return {"X-ApiToken": token, "X-AccountCode": account}


def visit_updated(visit_id: str) -> str:
    # The Node clients take a document without variables: the id is written into it.
    return f'subscription {{ visitUpdated(id: "{visit_id}") {{ id status }} }}'


class Node:
    """One Node client run as a subprocess; its stdout is one JSON report at the end."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def report(self) -> dict[str, Any]:
        async with asyncio.timeout(120):
            out, err = await self.process.communicate()
        assert self.process.returncode == 0, err.decode()[-3000:]
        report: dict[str, Any] = json.loads(out)
        return report


@contextlib.asynccontextmanager
async def node(*args: str, cwd: Any) -> AsyncIterator[Node]:
    process = await asyncio.create_subprocess_exec(
        "node",
        "--no-warnings",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Node(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def follow_the_walkin(gateway: Gateway, sandbox: Sandbox, visit_id: str) -> None:
    """Once the subscriber has its first event: the provider takes the walk-in, then ends it."""
    await wait_for(lambda: metric(gateway, "gateway_live_events_sent_total") >= 1)
    await asyncio.to_thread(start_call, sandbox, visit_id)
    await wait_for(lambda: metric(gateway, "gateway_live_events_sent_total") >= 2)
    closed = await asyncio.to_thread(
        gateway.query, CLOSE, {"input": {"id": visit_id}}, token=PROVIDER
    )
    assert closed["data"]["closeVisit"]["userErrors"] == [], closed


async def test_the_graphql_sse_client_follows_a_walkin_taken_by_a_provider(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, web_modules: Any
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with node(
        str(WEB_DIR / "sse.mjs"),
        f"{gateway.url}/graphql",
        visit_updated(visit_id),
        json.dumps(headers(MEMBER)),
        cwd=WEB_DIR,
    ) as client:
        await follow_the_walkin(gateway, live_upstream, visit_id)
        report = await client.report()
    statuses = [r["data"]["visitUpdated"]["status"] for r in report["results"]]
    assert statuses == ["WAITING", "IN_PROGRESS", "COMPLETED"], report
    assert {r["data"]["visitUpdated"]["id"] for r in report["results"]} == {visit_id}
    assert (report["ending"], report["error"]) == ("complete", None)
    await wait_for(lambda: app.state.streams.open == 0 and app.state.services.live.pollers == 0)


async def test_apollo_clients_http_link_follows_a_walkin_taken_by_a_provider(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, tools: Any
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    async with node(
        "--conditions=development",
        str(TOOLS_DIR / "apollo-subscribe.mjs"),
        f"{gateway.url}/graphql",
        visit_updated(visit_id),
        json.dumps(headers(MEMBER)),
        cwd=TOOLS_DIR,
    ) as client:
        await follow_the_walkin(gateway, live_upstream, visit_id)
        report = await client.report()
    statuses = [r["data"]["visitUpdated"]["status"] for r in report["results"]]
    assert statuses == ["WAITING", "IN_PROGRESS", "COMPLETED"], report
    assert all(r["error"] is None for r in report["results"]), report
    assert report["ending"] == "complete"
    assert report["warnings"] == []
    await wait_for(lambda: app.state.streams.open == 0 and app.state.services.live.pollers == 0)


async def test_another_accounts_sse_or_multipart_subscriber_cannot_watch_the_visit(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, web_modules: Any, tools: Any
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    stranger = json.dumps(headers(SUN_MEMBER, "sunclinic"))
    async with socket(gateway.url) as owner:
        # The owner's poller holds the visit: the stranger still gets only its own read.
        await owner.init(credentials(MEMBER))
        watched = await owner.subscribe(
            "subscription($id: ID!) { visitUpdated(id: $id) { id } }", {"id": visit_id}
        )
        assert (await owner.next_data(watched))["data"]["visitUpdated"]["id"] == visit_id
        async with node(
            str(WEB_DIR / "sse.mjs"),
            f"{gateway.url}/graphql",
            visit_updated(visit_id),
            stranger,
            cwd=WEB_DIR,
        ) as sse:
            report = await sse.report()
        [result] = report["results"]
        assert result.get("data") is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["NOT_FOUND"]
        assert report["ending"] == "complete"
        async with node(
            "--conditions=development",
            str(TOOLS_DIR / "apollo-subscribe.mjs"),
            f"{gateway.url}/graphql",
            visit_updated(visit_id),
            stranger,
            cwd=TOOLS_DIR,
        ) as apollo:
            report = await apollo.report()
        [result] = report["results"]
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["error"]["errors"]] == ["NOT_FOUND"]
        assert report["ending"] == "complete"
        assert app.state.services.live.pollers == 1  # the owner's, untouched
        await owner.complete(watched)


async def sse_results(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) of each SSE event of a streamed response; keep-alives are skipped."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event, data = "", None
            for line in block.split("\n"):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    value = line[5:].strip()
                    data = json.loads(value) if value else None
            if event:
                yield event, data


@contextlib.asynccontextmanager
async def sse_stream(
    http: httpx.AsyncClient, gateway: Gateway, query: str | None, token: str = MEMBER, **body: Any
) -> AsyncIterator[AsyncIterator[tuple[str, Any]]]:
    sent = {"query": query, **body}
    async with http.stream(
        "POST", f"{gateway.url}/graphql", json=sent, headers={**SSE, **headers(token)}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield aiter(sse_results(response))


async def test_a_hundred_sse_subscribers_of_one_visit_share_one_poller(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    live_upstream.clear_log()
    polls = {"kind": "visit", "outcome": "ok"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        async with contextlib.AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(sse_stream(http, gateway, visit_updated(visit_id)))
                for _ in range(100)
            ]
            firsts = [await anext(stream) for stream in streams]
            assert all(
                event == "next" and data["data"]["visitUpdated"]["status"] == "WAITING"
                for event, data in firsts
            )
            hub = app.state.services.live
            assert (hub.subscriptions, hub.pollers, app.state.streams.open) == (100, 1, 100)
            assert metric(gateway, "gateway_live_subscriptions_per_poller") == 100
            assert metric(gateway, "gateway_streams_open", transport="sse") == 100
            await wait_for(lambda: metric(gateway, "gateway_live_polls_total", **polls) >= 5)
        # The clients hung up: every stream, subscription and the poller are gone.
        await wait_for(lambda: hub.pollers == 0 and app.state.streams.open == 0)
    assert hub.subscriptions == 0
    assert metric(gateway, "gateway_streams_open", transport="sse") == 0
    # Every VSee read was the one poller's: one per interval, not one per subscriber. The
    # last hang-up may stop the poller while its poll is in flight (counted `cancelled`):
    # VSee may or may not have seen that one.
    assert set(live_upstream.counts()) == {"GET /visits/{id}"}
    seen = live_upstream.counts()["GET /visits/{id}"]
    counted = int(metric(gateway, "gateway_live_polls_total", **polls))
    cut = int(metric(gateway, "gateway_live_polls_total", **{**polls, "outcome": "cancelled"}))
    assert counted >= 5
    assert cut <= 1
    assert counted <= seen <= counted + cut


async def test_a_vsee_401_mid_stream_ends_the_stream_with_a_coded_error(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, app = make_live_gateway()
    async with httpx.AsyncClient(timeout=60) as http:
        async with sse_stream(http, gateway, CURRENT) as events:
            event, first = await anext(events)
            assert event == "next"
            assert "errors" not in first
            # The token is revoked while the stream is open: VSee answers the next poll 401.
            live_upstream.faults(fail={"GET /visits/current": 401})
            event, refused = await anext(events)
            assert event == "next"
            assert refused.get("data") is None
            assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
            assert "127.0.0.1" not in json.dumps(refused)
            assert MEMBER not in json.dumps(refused)
            assert await anext(events) == ("complete", None)
            assert [e async for e in events] == []
        # Over multipart: the same error as the stream's last part, then the close delimiter.
        body = {"query": CURRENT}
        sent = {**MULTIPART, **headers(MEMBER)}
        response = await http.post(f"{gateway.url}/graphql", json=body, headers=sent)
        assert response.status_code == 200
        parts = [p for p in response.text.split("\r\n--graphql") if "payload" in p]
        [last] = [json.loads(p.partition("\r\n\r\n")[2]) for p in parts]
        assert [e["extensions"]["code"] for e in last["payload"]["errors"]] == ["UNAUTHENTICATED"]
        assert response.text.endswith("\r\n--graphql--\r\n")
    await wait_for(lambda: app.state.services.live.pollers == 0 and app.state.streams.open == 0)


async def test_one_cap_per_caller_across_websocket_and_sse(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, app = make_live_gateway(live_max_subscriptions_per_caller=3)
    hub = app.state.services.live
    async with socket(gateway.url) as ws, httpx.AsyncClient(timeout=60) as http:
        await ws.init(credentials(MEMBER))
        first, second = await ws.subscribe(CURRENT), await ws.subscribe(CURRENT)
        await ws.next_data(first)
        await ws.next_data(second)
        async with sse_stream(http, gateway, CURRENT) as third:
            event, data = await anext(third)
            assert event == "next"
            assert "errors" not in data
            assert hub.subscriptions == 3
            # The fourth, over SSE: refused, however the caller's three are spread.
            async with sse_stream(http, gateway, CURRENT) as fourth:
                event, refused = await anext(fourth)
                assert [e["extensions"]["code"] for e in refused["errors"]] == [
                    "TOO_MANY_SUBSCRIPTIONS"
                ]
                assert await anext(fourth) == ("complete", None)
            # And over the socket too.
            fifth = await ws.subscribe(CURRENT)
            refused = await ws.next_data(fifth)
            assert [e["extensions"]["code"] for e in refused["errors"]] == [
                "TOO_MANY_SUBSCRIPTIONS"
            ]
            await wait_for(lambda: app.state.streams.open == 1)
            assert metric(gateway, "gateway_streams_dropped_total", reason="limit") == 1
        await ws.complete(first)
        # Two of three left: another SSE stream is allowed again.
        async with sse_stream(http, gateway, CURRENT) as again:
            event, data = await anext(again)
            assert event == "next"
            assert "errors" not in data
        await ws.complete(second)
        await wait_for(lambda: hub.subscriptions == 0 and app.state.streams.open == 0)
    assert hub.pollers == 0
    assert app.state.streams.by_caller == {}
    assert hub._per_scope == {}
    assert metric(gateway, "gateway_streams_open", transport="sse") == 0
    # Stream metrics are labelled by transport and reason only: never a caller or a token.
    from prometheus_client.parser import text_string_to_metric_families

    exposition = gateway.metrics()
    labels = {
        (name, value)
        for family in text_string_to_metric_families(exposition)
        if family.name.startswith("gateway_streams")
        for sample in family.samples
        for name, value in sample.labels.items()
    }
    assert labels == {("transport", "sse"), ("reason", "limit")}
    assert MEMBER not in exposition


async def test_sse_and_multipart_get_the_checks_the_websocket_makes(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, tmp_path: Any
) -> None:
    trusted = "subscription Mine { currentVisitUpdated { id } }"
    manifest = tmp_path / "manifest.json"
    digest = hashlib.sha256(trusted.encode()).hexdigest()
    manifest.write_text(
        json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                    "operations": [{"id": digest, "name": "Mine", "type": "subscription",
                                    "body": trusted}]})
    )  # fmt: skip
    gateway, app = make_live_gateway(trusted_documents=str(manifest), trusted_documents_only=True)
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with httpx.AsyncClient(timeout=60) as http:
        # Only the manifest's documents run, by text or by hash; inputs are bounded.
        for body, code in (
            ({"query": CURRENT}, "TRUSTED_DOCUMENT_REQUIRED"),
            ({"query": trusted, "variables": {"x": deep}}, "BAD_USER_INPUT"),
        ):
            async with sse_stream(http, gateway, **body) as events:
                event, refused = await anext(events)
                assert event == "next"
                assert [e["extensions"]["code"] for e in refused["errors"]] == [code]
                assert await anext(events) == ("complete", None)
            sent = {**MULTIPART, **headers(MEMBER)}
            answer = await http.post(f"{gateway.url}/graphql", json=body, headers=sent)
            assert [e["extensions"]["code"] for e in answer.json()["errors"]] == [code]
        async with sse_stream(http, gateway, None, extensions=persisted) as events:
            _event, data = await anext(events)
            assert "errors" not in data, data
    await wait_for(lambda: app.state.streams.open == 0)
    assert live_upstream.counts() == {"GET /visits/current": 1}


async def test_sse_subscriptions_and_their_polls_count_against_the_rate_limit(
    make_live_gateway: MakeGateway, live_upstream: Sandbox
) -> None:
    gateway, _ = make_live_gateway(rate_limit=True, rate_limit_per_second=0.001, rate_limit_burst=4)
    async with (
        httpx.AsyncClient(timeout=60) as http,
        sse_stream(http, gateway, CURRENT) as events,
    ):
        await anext(events)
        await wait_for(
            lambda: metric(gateway, "gateway_live_polls_total", outcome="rate_limited") > 0
        )
        ok = metric(gateway, "gateway_live_polls_total", kind="current", outcome="ok")
        assert live_upstream.counts() == {"GET /visits/current": ok} == {"GET /visits/current": 3}
        # A new subscription of the same caller is refused before it runs.
        async with sse_stream(http, gateway, CURRENT) as refused_events:
            _event, refused = await anext(refused_events)
            assert [e["extensions"]["code"] for e in refused["errors"]] == ["RATE_LIMITED"]
            assert await anext(refused_events) == ("complete", None)


async def test_graphiql_in_chromium_sees_the_provider_take_the_walkin(
    make_live_gateway: MakeGateway, live_upstream: Sandbox, web_modules: Any, chromium: Any
) -> None:
    gateway, app = make_live_gateway()
    visit_id, _, _ = await asyncio.to_thread(new_walkin, gateway)
    subscription = f'subscription Watch {{ visitUpdated(id: "{visit_id}") {{ id status }} }}'
    # GraphiQL's own UI: its editor, its run button, its prefilled demo credentials; the
    # result pane shows each event in turn, and the page waits for the provider's start.
    async with node(
        str(WEB_DIR / "browser.mjs"),
        f"{gateway.url}/graphql",
        subscription,
        "-",
        '"IN_PROGRESS"',
        cwd=WEB_DIR,
    ) as browser:
        await wait_for(lambda: metric(gateway, "gateway_live_events_sent_total") >= 1)
        await asyncio.to_thread(start_call, live_upstream, visit_id)
        report = await browser.report()
    assert report["problems"] == []
    result = json.loads(report["result"])
    assert result == {"data": {"visitUpdated": {"id": visit_id, "status": "IN_PROGRESS"}}}
    # Streamed over SSE by the page's own files, nothing fetched from elsewhere.
    origin = urlsplit(gateway.url).netloc
    assert {urlsplit(url).netloc for url in report["requests"]} == {origin}
    assert any("graphql-sse.min.js" in url for url in report["requests"])
    assert metric(gateway, "gateway_streams_opened_total", transport="sse") == 1
    assert metric(gateway, "gateway_live_events_sent_total") == 2
    # The browser closed: its stream, subscription and poller are gone.
    await wait_for(lambda: app.state.streams.open == 0 and app.state.services.live.pollers == 0)
