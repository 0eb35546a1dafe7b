"""Subscriptions at scale: 1,000 concurrent subscriptions on one gateway worker.

    .venv/bin/python benchmarks/subscriptions.py [--subscriptions 1000] [--callers 20]
        [--connections 50] [--interval 3] [--window 30] [--markdown benchmarks/RESULTS.md]

Starts the sandbox and one gateway worker (``vsee-gateway serve``, rate limits off) as child
processes on 127.0.0.1. Each of ``--callers`` sandbox members creates a walk-in through the
gateway; ``--subscriptions`` ``visitUpdated`` subscriptions are spread evenly over those visits
(each watched by its own member's credentials, so ``--callers`` pollers) and over
``--connections`` WebSockets (graphql-transport-ws). Then it measures:

- memory per subscription: the gateway's resident set once every subscription had its first
  event, minus before any (one subscription opened and closed first, so imports are warm),
  divided by the subscriptions;
- polls per second against VSee: GET /visits/{id} in the sandbox's request log over
  ``--window`` seconds of steady state, beside what 1,000 clients polling on their own at the
  same interval would cost;
- event latency: for each visit, at a random moment, the sandbox starts its call (the knob
  VSee's apps stand in for) and every subscriber's IN_PROGRESS event is timed from that moment:
  the wait for the next poll (up to the active interval) plus the resolution and fan-out;
- gateway CPU per second while holding the subscriptions.
Prints the figures and, with ``--markdown``, writes them into that file's ``subscriptions`` block.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    Children,
    command_line,
    cpu_seconds,
    exit_on_sigterm,
    machine_lines,
    markdown_table,
    replace_block,
    start_gateway,
    start_sandbox,
)

SUBSCRIPTION = "subscription($id: ID!) { visitUpdated(id: $id) { id status provider { id } } }"
CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) { intakeId userErrors { code message } } }"""
CREATE_WALKIN = """mutation($input: CreateWalkinInput!) {
  createWalkin(input: $input) { userErrors { code message } visit { id } } }"""


def rss_mib(pid: int) -> float:
    """VmRSS: the resident set now (not the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def members(sandbox: str, count: int) -> list[str]:
    users = httpx.get(f"{sandbox}/_sandbox/users", timeout=10).json()
    tokens = [
        user["token"]
        for account in users["accounts"]
        if account["code"] == "vclinic"
        for user in account["users"]
        if user["type_name"] == "member"
    ]
    if len(tokens) < count:
        raise SystemExit(f"the sandbox has {len(tokens)} vclinic members; use --callers <= that")
    return tokens[:count]


def walkin(gateway: str, token: str) -> str:
    """A walk-in of this member's, through the gateway; its global id."""
    headers = {"X-ApiToken": token, "X-AccountCode": "vclinic"}

    def query(text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{gateway}/graphql",
            json={"query": text, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(f"setup failed: {body['errors']}")
        return body["data"]

    room = query("{ rooms(first: 1) { nodes { code } } }")["rooms"]["nodes"][0]["code"]
    provider = query("query($c: String!) { room(code: $c) { providers { id } } }", {"c": room})
    intake = query(CREATE_INTAKE, {"input": {"reasonForVisit": "bench", "roomCode": room}})
    created = query(
        CREATE_WALKIN,
        {
            "input": {
                "providerId": provider["room"]["providers"][0]["id"],
                "intakeId": intake["createIntake"]["intakeId"],
                "roomCode": room,
            }
        },
    )["createWalkin"]
    if created["userErrors"]:
        raise RuntimeError(f"createWalkin refused: {created['userErrors']}")
    visit_id: str = created["visit"]["id"]
    return visit_id


class Connection:
    """One WebSocket with several subscriptions; records when each saw each status."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.first: dict[str, asyncio.Event] = {}
        self.seen: dict[tuple[str, str], float] = {}
        self.visit_of: dict[str, str] = {}
        self.errors: list[Any] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, token: str) -> None:
        payload = {"X-ApiToken": token, "X-AccountCode": "vclinic"}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await self.ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no ack: {ack}")
        self._reader = asyncio.create_task(self._read())

    async def subscribe(self, op_id: str, visit_id: str) -> None:
        self.first[op_id] = asyncio.Event()
        self.visit_of[op_id] = visit_id
        message = {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"id": visit_id}},
        }
        await self.ws.send(json.dumps(message))

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            message = json.loads(raw)
            op_id = message.get("id")
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif message.get("type") == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    self.errors.append(payload["errors"])
                visit = (payload.get("data") or {}).get("visitUpdated") or {}
                self.seen.setdefault((op_id, str(visit.get("status"))), now)
                self.first[op_id].set()
            elif message.get("type") in ("error", "complete"):
                self.errors.append(message)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.ws.close()


async def hold(args: argparse.Namespace, gateway: str, sandbox: str, pid: int) -> dict[str, Any]:
    tokens = await asyncio.to_thread(members, sandbox, args.callers)
    visits = await asyncio.gather(*(asyncio.to_thread(walkin, gateway, t) for t in tokens))
    ws_url = gateway.replace("http://", "ws://") + "/graphql"

    async def open_connection(token: str) -> Connection:
        ws = await connect(ws_url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
        connection = Connection(ws)
        await connection.start(token)
        return connection

    # Warm-up: one subscription opened and closed, so the baseline has everything imported.
    warm = await open_connection(tokens[0])
    await warm.subscribe("warm", visits[0])
    await asyncio.wait_for(warm.first["warm"].wait(), 60)
    await warm.close()
    await asyncio.sleep(1.0)
    base_rss = rss_mib(pid)

    # Subscriptions spread over callers (each its own visit) and over connections.
    per_caller = args.subscriptions // args.callers
    connections: list[Connection] = []
    per_connection = max(1, args.connections // args.callers)
    started = time.monotonic()
    for caller, (token, visit_id) in enumerate(zip(tokens, visits, strict=True)):
        mine = [await open_connection(token) for _ in range(per_connection)]
        connections.extend(mine)
        for n in range(per_caller):
            await mine[n % len(mine)].subscribe(f"{caller}-{n}", visit_id)
    every = [(c, op) for c in connections for op in c.first]
    await asyncio.wait_for(asyncio.gather(*(c.first[op].wait() for c, op in every)), 300)
    established = time.monotonic() - started
    await asyncio.sleep(2.0)
    held_rss = rss_mib(pid)

    # Steady state: polls per second and the gateway's CPU while holding them.
    await asyncio.to_thread(httpx.delete, f"{sandbox}/_sandbox/requests", timeout=10)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(args.window)
    cpu_used, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - wall_before
    log = (await asyncio.to_thread(httpx.get, f"{sandbox}/_sandbox/requests", timeout=10)).json()
    polls = log["counts"].get("GET /visits/{id}", 0)

    # Latency: change each visit in the sandbox, time each subscriber's event from then. Each
    # change comes at a random moment within two intervals: pollers were started one after the
    # other, so changes at a fixed pace would fall at the same phase of every poller's cycle
    # and measure that phase instead of the wait for the next poll.
    changed: dict[str, float] = {}
    rng = random.Random(7)

    async def change(visit_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        changed[visit_id] = time.monotonic()
        started_call = await asyncio.to_thread(
            httpx.post, f"{sandbox}/_sandbox/visits/{_raw_id(visit_id)}/start", timeout=10
        )
        started_call.raise_for_status()

    await asyncio.gather(*(change(v, rng.uniform(0, 2 * args.interval)) for v in visits))
    deadline = time.monotonic() + 4 * args.interval + 30
    while time.monotonic() < deadline:
        if all((op, "IN_PROGRESS") in c.seen for c, op in every):
            break
        await asyncio.sleep(0.1)
    latencies = [
        c.seen[(op, "IN_PROGRESS")] - changed[c.visit_of[op]]
        for c, op in every
        if (op, "IN_PROGRESS") in c.seen
    ]
    errors = sum(len(c.errors) for c in connections)
    for connection in connections:
        await connection.close()
    latencies.sort()
    return {
        "subscriptions": len(every),
        "callers": args.callers,
        "connections": len(connections),
        "established_s": established,
        "base_rss": base_rss,
        "held_rss": held_rss,
        "kib_per_subscription": (held_rss - base_rss) * 1024 / len(every),
        "polls_per_s": polls / wall,
        "unshared_polls_per_s": len(every) / args.interval,
        "cpu_ms_per_s": cpu_used * 1000 / wall,
        "events": len(latencies),
        "latency_p50": statistics.median(latencies) if latencies else float("nan"),
        "latency_p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "latency_max": latencies[-1] if latencies else float("nan"),
        "errors": errors,
    }


def _raw_id(global_id: str) -> str:
    import base64

    return base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")[2]


def report(args: argparse.Namespace, r: dict[str, Any]) -> str:
    rows = [
        ["subscriptions held (callers × visits, WebSockets)",
         f"{r['subscriptions']:,} ({r['callers']} pollers, {r['connections']} sockets)"],
        ["time to establish all (first event each)", f"{r['established_s']:.1f} s"],
        ["gateway RSS before → holding", f"{r['base_rss']:.1f} → {r['held_rss']:.1f} MiB"],
        ["memory per subscription", f"{r['kib_per_subscription']:.1f} KiB"],
        ["polls per second against VSee (measured)", f"{r['polls_per_s']:.2f}"],
        ["… if each subscriber polled on its own", f"{r['unshared_polls_per_s']:.0f}"],
        ["gateway CPU while holding", f"{r['cpu_ms_per_s']:.0f} ms/s"],
        ["events timed (change in sandbox → event at client)", f"{r['events']:,}"],
        ["event latency p50 / p99 / max",
         f"{r['latency_p50'] * 1000:,.0f} / {r['latency_p99'] * 1000:,.0f} / "
         f"{r['latency_max'] * 1000:,.0f} ms"],
        ["errors on the streams", f"{r['errors']}"],
    ]  # fmt: skip
    return "\n".join(
        [
            f"`{command_line()}`: one gateway worker, active poll interval {args.interval:g} s "
            f"(jitter 10 %), steady state measured over {args.window:g} s.",
            "",
            *machine_lines(),
            f"- Load average (1 min) at the start and the end: {args.load_start:.1f}, "
            f"{os.getloadavg()[0]:.1f} (the machine is shared: latency and CPU move with it)",
            "",
            markdown_table(["measure", "value"], rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    args.load_start = os.getloadavg()[0]
    exit_on_sigterm()
    with Children() as children:
        sandbox = start_sandbox(children)
        env = {
            "VSEE_RATE_LIMIT": "false",
            "VSEE_METRICS": "false",
            "VSEE_LOG_LEVEL": "warning",
            "VSEE_LIVE_INTERVAL_ACTIVE": str(args.interval),
            "VSEE_LIVE_MAX_SUBSCRIPTIONS_PER_CALLER": str(args.subscriptions),
            "VSEE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": str(args.subscriptions),
        }
        gateway = start_gateway(children, sandbox.url + "/vc/next/api_v3", env)
        result = asyncio.run(hold(args, gateway.url, sandbox.url, gateway.pid))
    text = report(args, result)
    print(text)
    if args.markdown:
        replace_block(args.markdown, "subscriptions", text)


if __name__ == "__main__":
    main()
