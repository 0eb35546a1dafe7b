"""Chaos run: mixed reads and keyed writes through the gateway while the sandbox misbehaves.

The sandbox injects faults into 10% of API calls (every kind it knows, in equal shares):
503 answers, a reset in mid-body, a stalled body, HTML with 200, 503 with an HTML body.
Virtual users read (home screen, visit list) and write (``createIntake`` with an
``Idempotency-Key``, retried with the same key on every retryable code) for the whole run.
Then it prints what must hold however VSee fails:

* HTTP 5xx answered by the gateway: 0 (admission control sheds with 503 only under overload,
  which this run does not reach)
* uncoded GraphQL errors (no ``extensions.code`` or ``INTERNAL_SERVER_ERROR``): 0
* duplicate writes: POSTs served by the sandbox for one Idempotency-Key beyond the first: 0
  (each write's key is written into its ``reasonForVisit``, read back from the request log)

plus breaker openings and recoveries (from the gateway's metrics) and its RSS at start and end.

    .venv/bin/python benchmarks/chaos.py                 # 5 minutes
    .venv/bin/python benchmarks/chaos.py --seconds 30    # a short run
    make chaos                                           # the same, 5 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _harness import API_PREFIX, Children, exit_on_sigterm, start_gateway, start_sandbox

HOME = """query Home($start: DateTime!, $end: DateTime!) {
  currentVisit { id status }
  visits(first: 5) { totalCount nodes { id status provider { id fullName } intake { id } } }
  availability(start: $start, end: $end) { start providerIds } }"""
LIST = "query { visits(first: 20) { nodes { id code status member { id fullName } } } }"
CREATE_INTAKE = """mutation($input: IntakeInput!) {
  createIntake(input: $input) { intakeId userErrors { code } } }"""
# A write is retried with its key on these; OUTCOME_UNKNOWN is final (read back instead).
RETRYABLE = {
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_TIMEOUT",
    "UPSTREAM_BAD_RESPONSE",
    "IN_PROGRESS",
    "IDEMPOTENCY_UNAVAILABLE",
    "OVERLOADED",
}
MARK = "chaos-"


@dataclass
class Tally:
    requests: int = 0
    http_5xx: int = 0
    uncoded: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    writes_done: int = 0
    writes_unknown: int = 0
    first_uncoded: str | None = None


async def post(
    client: httpx.AsyncClient,
    tally: Tally,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str],
) -> dict[str, Any] | None:
    tally.requests += 1
    try:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    except httpx.HTTPError as exc:
        tally.codes[f"client:{type(exc).__name__}"] += 1
        return None
    if response.status_code >= 500:
        tally.http_5xx += 1
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        tally.uncoded += 1
        tally.first_uncoded = tally.first_uncoded or response.text[:200]
        return None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code or code == "INTERNAL_SERVER_ERROR":
            tally.uncoded += 1
            tally.first_uncoded = tally.first_uncoded or str(error)[:200]
        else:
            tally.codes[code] += 1
    return body


async def user(
    client: httpx.AsyncClient, tally: Tally, creds: dict[str, str], until: float, rng: random.Random
) -> None:
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    window = {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()}
    while time.monotonic() < until:
        roll = rng.random()
        if roll < 0.2:
            await write(client, tally, creds)
        elif roll < 0.6:
            await post(client, tally, HOME, window, creds)
        else:
            await post(client, tally, LIST, {}, creds)


async def write(client: httpx.AsyncClient, tally: Tally, creds: dict[str, str]) -> None:
    key = uuid.uuid4().hex
    tally.writes += 1
    headers = {**creds, "Idempotency-Key": key}
    variables = {"input": {"reasonForVisit": f"{MARK}{key}"}}
    for attempt in range(4):
        body = await post(client, tally, CREATE_INTAKE, variables, headers)
        if body is None:
            return
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
        if not codes:
            tally.writes_done += 1
            return
        if "OUTCOME_UNKNOWN" in codes:
            tally.writes_unknown += 1
            return
        if not codes <= RETRYABLE:
            return
        await asyncio.sleep(0.2 * (attempt + 1))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class SandboxLog:
    """Reads every request the sandbox served, polling ``?since=`` so none is missed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen = 0
        self.missed = 0
        self.served_writes: Counter[str] = Counter()

    def poll(self) -> None:
        body = httpx.get(
            f"{self.url}/_sandbox/requests", params={"since": self.seen}, timeout=30
        ).json()
        entries = body["entries"]
        self.missed += max(0, body["total"] - self.seen - len(entries))
        self.seen = body["total"]
        for entry in entries:
            if entry["method"] != "POST" or entry["route"] != "POST /intakes":
                continue
            reason = (entry.get("body") or {}).get("reason_for_visit", "")
            # Served: the sandbox applied it (2xx), whatever the client then saw of the answer.
            served = entry["status"] < 300 and entry.get("fault") not in ("html", "unavailable")
            if served and isinstance(reason, str) and reason.startswith(MARK):
                self.served_writes[reason] += 1


async def poll_log(log: SandboxLog, until: float) -> None:
    while time.monotonic() < until:
        await asyncio.to_thread(log.poll)
        await asyncio.sleep(1.0)


def metric(text: str, name: str, label: str) -> int:
    match = re.search(rf'^{name}\{{to="{label}"\}} ([0-9.e+]+)$', text, re.M)
    return int(float(match.group(1))) if match else 0


async def drive(
    args: argparse.Namespace, gateway_url: str, creds: list[dict[str, str]], log: SandboxLog
) -> tuple[Tally, str]:
    tally = Tally()
    until = time.monotonic() + args.seconds
    rng = random.Random(args.seed)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        await asyncio.gather(
            poll_log(log, until),
            *(
                user(client, tally, creds[i % len(creds)], until, random.Random(rng.random()))
                for i in range(args.vus)
            ),
        )
        metrics = (await client.get("/metrics")).text
    return tally, metrics


def main(args: argparse.Namespace) -> int:
    with Children() as children:
        sandbox = start_sandbox(children, seed=args.seed)
        httpx.put(
            f"{sandbox.url}/_sandbox/faults",
            json={
                # 10% of calls, split evenly between plain 503s and the four transport faults.
                "error_rate": args.fault_rate / 5,
                "misbehave_rate": args.fault_rate * 4 / 5,
                "stall_ms": 3000,
            },
        ).raise_for_status()
        gateway = start_gateway(
            children,
            sandbox.url + API_PREFIX,
            {"VSEE_LOG_LEVEL": "warning", "VSEE_UPSTREAM_READ_TIMEOUT": "1.5"},
        )
        users = httpx.get(f"{sandbox.url}/_sandbox/users").json()["accounts"]
        creds = [
            {"X-ApiToken": u["token"], "X-AccountCode": a["code"]}
            for a in users
            for u in a["users"]
            if u["type_name"] in ("member", "admin")
        ]
        rss_start = rss_mib(gateway.pid)
        log = SandboxLog(sandbox.url)
        tally, metrics = asyncio.run(drive(args, gateway.url, creds, log))
        time.sleep(4)  # stalled answers finish (stall_ms) before the last read of the log
        log.poll()
        rss_end = rss_mib(gateway.pid)
    duplicates = sum(n - 1 for n in log.served_writes.values() if n > 1)
    name = "gateway_upstream_breaker_transitions_total"
    lines = [
        f"chaos run: {args.seconds:.0f} s, {args.vus} virtual users, "
        f"{args.fault_rate:.0%} of upstream calls faulted "
        "(503, reset mid-body, stalled body, HTML 200, HTML 503)",
        f"requests:                      {tally.requests}",
        f"HTTP 5xx:                      {tally.http_5xx}",
        f"uncoded errors:                {tally.uncoded}"
        + (f"  (first: {tally.first_uncoded})" if tally.first_uncoded else ""),
        f"writes (keyed):                {tally.writes}, done {tally.writes_done}, "
        f"outcome unknown {tally.writes_unknown}",
        f"duplicate writes for one key:  {duplicates}",
        f"breaker openings / recoveries: {metric(metrics, name, 'open')} / "
        f"{metric(metrics, name, 'closed')}",
        f"gateway RSS start / end:       {rss_start:.0f} MiB / {rss_end:.0f} MiB",
        f"sandbox log entries missed:    {log.missed}",
        "error codes: " + ", ".join(f"{c} {n}" for c, n in tally.codes.most_common()),
    ]
    print("\n".join(lines))
    ok = tally.http_5xx == 0 and tally.uncoded == 0 and duplicates == 0 and log.missed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the run")
    parser.add_argument("--seconds", type=float, help="length of the run (overrides --minutes)")
    parser.add_argument("--vus", type=int, default=16, help="concurrent virtual users")
    parser.add_argument("--fault-rate", type=float, default=0.10, help="share of faulted calls")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.seconds = args.seconds if args.seconds is not None else args.minutes * 60
    if not (1 <= args.seconds <= 3600 and 1 <= args.vus <= 500 and 0 <= args.fault_rate <= 1):
        parser.error("--seconds 1..3600, --vus 1..500, --fault-rate 0..1")
    sys.exit(main(args))
