"""Side by side: the gateway, Apollo Server 5 and Hive Gateway over the same sandbox (issue 16).

Every server answers the same screens (benchmarks/run.py's documents, load generator and checks)
against one sandbox process with latency injected per upstream call. Servers are measured in
interleaved rounds (gateway, Apollo, Hive, gateway, Apollo, Hive, ...) so a noisy neighbour on
the shared machine hits all of them alike, and every figure is the median over rounds. CPU is
each server's own (its whole process tree, from /proc), upstream calls are counted by the
sandbox.

    make bench-peers                                     # installs the peers (npm ci), 10-20 min
    .venv/bin/python benchmarks/peers.py --quick         # smoke run, under 2 minutes
    .venv/bin/python benchmarks/peers.py --servers gateway,apollo --scenarios dashboard

See benchmarks/README.md ("Peers") for how each peer is written and what differs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import run
from _harness import (
    API_PREFIX,
    LOOPBACK,
    ROOT,
    Child,
    Children,
    command_line,
    exit_on_sigterm,
    free_port,
    machine_lines,
    markdown_table,
    replace_block,
    start_sandbox,
    text_table,
)

PEERS = ROOT / "benchmarks" / "peers"
MAX_ROUNDS = 50

# -- process trees in /proc: a server with workers is all of its processes -------------------------


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant (uvicorn's workers, Node's helpers)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                stack.extend(int(child) for child in task.read_text().split())
            except (OSError, ValueError):
                continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        try:
            total += run.cpu_seconds(member)
        except (OSError, ValueError, IndexError):
            continue  # exited between listing and reading
    return total


def tree_peak_rss_mib(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        try:
            total += run.peak_rss_mib(member)
        except OSError:
            continue
    return total


# -- the servers ---------------------------------------------------------------------------------

# The gateway's rate limiter stays on (its CPU is part of every request) with budgets no VU
# reaches: the peers have none, and a faster gateway would otherwise be measured refusing
# requests (its per-caller default is 200 VSee calls a second, and a detail screen counts ~20).
UNLIMITED = {
    "VSEE_RATE_LIMIT_PER_SECOND": "1000000",
    "VSEE_RATE_LIMIT_BURST": "1000000",
    "VSEE_RATE_LIMIT_ACCOUNT_PER_SECOND": "1000000",
    "VSEE_RATE_LIMIT_ACCOUNT_BURST": "1000000",
}


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    start: Callable[[Children, str, dict[str, Any]], Child]


def _gateway(workers: int) -> Callable[[Children, str, dict[str, Any]], Child]:
    def start(children: Children, api: str, setup: dict[str, Any]) -> Child:
        port = free_port()
        return children.spawn(
            f"gateway-{workers}w",
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--upstream-url",
                api,
            ],
            url=f"http://{LOOPBACK}:{port}",
            health="/healthz",
            env={"VSEE_LOG_LEVEL": setup["log_level"], **UNLIMITED},
            timeout=60,
        )

    return start


def _gateway_at(rev: str, tree: Path) -> Callable[[Children, str, dict[str, Any]], Child]:
    """The gateway package as of git revision ``rev`` (exported into ``tree``), served the
    same way: a before/after pair measured in the same interleaved rounds."""
    boot = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv[0] = 'gateway'; "
        "from gateway.cli import main; main()"
    )

    def start(children: Children, api: str, setup: dict[str, Any]) -> Child:
        port = free_port()
        return children.spawn(
            f"gateway-{rev}",
            [
                *(sys.executable, "-c", boot, "serve", "--host", LOOPBACK, "--port", str(port)),
                *("--workers", "1", "--upstream-url", api),
            ],
            url=f"http://{LOOPBACK}:{port}",
            health="/healthz",
            env={"VSEE_LOG_LEVEL": setup["log_level"], **UNLIMITED},
            timeout=60,
        )

    return start


def export_revision(rev: str, out: Path) -> Path:
    """``git archive`` of the gateway package at ``rev`` into ``out``."""
    tree = out / f"gateway-at-{rev}"
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", rev, "gateway"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node (v20+) is needed for the peers; see benchmarks/README.md")
    return node


def start_apollo(children: Children, api: str, setup: dict[str, Any]) -> Child:
    port = free_port()
    return children.spawn(
        "apollo",
        [_node(), str(PEERS / "apollo.mjs")],
        url=f"http://{LOOPBACK}:{port}",
        health="/healthz",
        env={"VSEE_API": api, "PORT": str(port), "HOST": LOOPBACK, "NODE_ENV": "production"},
    )


def compose_hive(api: str, out: Path) -> Path:
    """The supergraph Hive Gateway serves, composed from peers/openapi.yaml by Mesh Compose."""
    supergraph = out / "supergraph.graphql"
    composed = subprocess.run(
        [
            _node(),
            str(PEERS / "node_modules" / ".bin" / "mesh-compose"),
            "--config-path",
            str(PEERS / "mesh.config.ts"),
            "--output",
            str(supergraph),
        ],
        cwd=PEERS,
        env={**os.environ, "VSEE_API": api},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if composed.returncode != 0:
        raise RuntimeError(f"Mesh Compose failed:\n{composed.stdout}\n{composed.stderr}")
    return supergraph


def start_hive(children: Children, api: str, setup: dict[str, Any]) -> Child:
    port = free_port()
    return children.spawn(
        "hive",
        [
            _node(),
            str(PEERS / "node_modules" / ".bin" / "hive-gateway"),
            "supergraph",
            str(setup["supergraph"]),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--config-path",
            str(PEERS / "gateway.config.ts"),
        ],
        url=f"http://{LOOPBACK}:{port}",
        health="/healthcheck",
        env={"NODE_ENV": "production"},
        timeout=60,
    )


SERVERS: dict[str, Server] = {
    s.name: s
    for s in (
        Server("gateway", "this gateway (1 worker)", _gateway(1)),
        Server("gateway-2w", "this gateway (2 workers)", _gateway(2)),
        Server("apollo", "Apollo Server 5 + datasource-rest", start_apollo),
        Server("hive", "Hive Gateway over OpenAPI", start_hive),
    )
}

# -- screens --------------------------------------------------------------------------------------


class FixedScreen(run.Screen):
    name = "fixed"
    what = "fixed cost: `{ __typename }`, no upstream call"
    rtts = 0

    async def gateway(self, load: run.Load, vu: run.VU, out: list[run.Outcome]) -> None:
        elapsed, data = await run.graphql(load, vu, "{ __typename }", {})
        if data.get("__typename") != "Query":
            raise run.Failure(f"unexpected answer {data!r}")
        out.append(run.Outcome(elapsed))


SCENARIOS = ["home", "detail", "dashboard", "booking", "fixed"]


def screen_for(server: str, scenario: str) -> run.Screen:
    """The screen a server is measured with: the gateway's own, or Hive's equivalent."""
    if scenario == "fixed":
        return FixedScreen()
    if server == "hive":
        import hive_screens

        return hive_screens.SCREENS[scenario]
    return run.SCREENS[scenario]


# -- the answers agree ---------------------------------------------------------------------------

ANSWERS = {
    "home": lambda vu: (run.HOME, vu.variables),
    "detail": lambda vu: (run.DETAIL, {"id": run._gid("Visit", vu.visit_id)}),
    "dashboard": lambda vu: (run.DASHBOARD, {}),
}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON answers differ (numbers compare by value: 90.0 is 90)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in a.keys() | b.keys() for d in differences(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, pair in enumerate(zip(a, b, strict=True))
            for d in differences(*pair, f"{path}[{i}]")
        ]
    return [] if (a == b and type(a) is type(b)) or _numbers_equal(a, b) else [f"{path}"]


def _numbers_equal(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return isinstance(a, numbers) and isinstance(b, numbers) and a == b


SIDES = ("gateway", "apollo")


def _ask(server: Child, vu: run.VU, query: str, variables: dict[str, Any]) -> Any:
    response = httpx.post(
        server.url + "/graphql",
        json={"query": query, "variables": variables},
        headers=vu.headers,
        timeout=run.REQUEST_TIMEOUT_S,
    )
    return response.json()


def _masked(answer: Any, path: Sequence[str], type_name: str) -> list[str]:
    """Replace the global id at ``path`` (new per write, so never equal between two servers)
    with its type, once checked to be a ``type_name`` id; what was wrong with it, if anything."""
    *parents, last = path
    node = answer
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(node.get(last), str):
        return [f"{'.'.join(path)} is missing"]
    try:
        decoded = base64.urlsafe_b64decode(node[last]).decode()
    except ValueError:
        decoded = ""
    node[last] = decoded.partition(":")[0]
    return [] if node[last] == type_name else [f"{'.'.join(path)} is not a {type_name} id"]


def compare_booking(vu: run.VU, servers: dict[str, Child]) -> list[str]:
    """One booking flow on each server, each with its own (slot, provider) pair taken from the
    VU's pool (two slots of one provider): the day's slots, read before either books, must be
    equal, and so must the writes' answers once the new ids are checked and masked and each
    visit's time is checked to be its own slot's."""
    pool = vu.gateway_pairs
    # Two slots of the same provider, so both visits name the same one.
    second = next((i for i in range(1, len(pool)) if pool and pool[i][2] == pool[0][2]), None)
    if second is None:
        return ["not enough free slots of one provider to compare a booking"]
    pairs = {"apollo": pool.pop(second), "gateway": pool.pop(0)}
    day = pairs["gateway"][0] - pairs["gateway"][0] % run.DAY
    window = {"start": run._iso(day), "end": run._iso(day + run.DAY)}
    found = differences(*(_ask(servers[n], vu, run.SLOTS, window) for n in SIDES))
    intake_input = {"input": {"reasonForVisit": "benchmark", "type": "APPOINTMENT", "reset": True}}
    written: dict[str, list[Any]] = {}
    for name, (start, end, provider) in pairs.items():
        intake = _ask(servers[name], vu, run.CREATE_INTAKE, intake_input)
        intake_id = (intake.get("data") or {}).get("createIntake", {}).get("intakeId")
        booking_input = {
            "memberId": run._gid("Member", vu.user_id),
            "start": run._iso(start),
            "end": run._iso(end),
            "intakeId": intake_id,
            "providerId": run._gid("Provider", provider),
        }
        booked = _ask(servers[name], vu, run.BOOK, {"input": booking_input})
        visit = ((booked.get("data") or {}).get("createAppointment") or {}).get("visit") or {}
        if (visit.get("start"), visit.get("end")) != tuple(
            run._iso(t).replace("+00:00", "Z") for t in (start, end)
        ):
            found.append(f"{name}: the booked visit's time is not the slot's")
        visit["start"] = visit["end"] = "the slot's"
        for answer, path, type_name in (
            (intake, ("data", "createIntake", "intakeId"), "Intake"),
            (intake, ("data", "createIntake", "intake", "id"), "Intake"),
            (booked, ("data", "createAppointment", "visitId"), "Visit"),
            (booked, ("data", "createAppointment", "visit", "id"), "Visit"),
        ):
            found += [f"{name}: {problem}" for problem in _masked(answer, path, type_name)]
        written[name] = [intake, booked]
    return found + differences(written["gateway"], written["apollo"])


def compare_answers(scenario: str, vu: run.VU, servers: dict[str, Child]) -> str | None:
    """The gateway's and Apollo's answers to the same screen, compared field by field."""
    if not {"gateway", "apollo"} <= servers.keys():
        return None
    if scenario == "booking":
        found = compare_booking(vu, servers)
    elif scenario in ANSWERS:
        query, variables = ANSWERS[scenario](vu)
        found = differences(*(_ask(servers[n], vu, query, variables) for n in SIDES))
    else:
        return None
    if not found:
        return "Apollo's answer equals the gateway's, field by field"
    return f"Apollo's answer differs from the gateway's at {len(found)} paths, e.g. {found[:3]}"


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Round:
    requests: int
    errors: int
    first_error: str | None
    rps: float
    p50: float
    p99: float
    unloaded_p50: float
    cpu_ms: float
    calls: float
    counts: dict[str, int]
    exhausted: int


@dataclass
class Measured:
    server: str
    scenario: str
    rounds: list[Round] = field(default_factory=list)
    peak_rss_mib: float = math.nan

    def median(self, name: str) -> float:
        values = [getattr(r, name) for r in self.rounds if not math.isnan(getattr(r, name))]
        return statistics.median(values) if values else math.nan

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def first_error(self) -> str | None:
        return next((r.first_error for r in self.rounds if r.first_error), None)


async def measure(
    args: argparse.Namespace,
    screen: run.Screen,
    vus: list[run.VU],
    server: Child,
    control: run.Control,
) -> Round:
    async with run._session(len(vus)) as http:
        load = run.Load(http, server.url + "/graphql", "")
        await run.closed_loop(load, vus, screen.gateway, args.warmup, run.MAX_ITERATIONS_PER_VU)
        unloaded = await run.one_at_a_time(load, vus, screen.gateway, args.unloaded, 500)
        control.clear_log()
        cpu0 = tree_cpu_seconds(server.pid)
        measured = await run.closed_loop(
            load, vus, screen.gateway, args.duration, run.MAX_ITERATIONS_PER_VU
        )
        cpu = tree_cpu_seconds(server.pid) - cpu0
        counts = control.counts()
    n = max(1, measured.requests)
    latencies = measured.latencies_ms()
    errors = measured.errors
    return Round(
        requests=measured.requests,
        errors=len(errors),
        first_error=errors[0] if errors else None,
        rps=measured.rate(),
        p50=run.percentile(latencies, 50),
        p99=run.percentile(latencies, 99),
        unloaded_p50=run.percentile(unloaded.latencies_ms(), 50),
        cpu_ms=cpu / n * 1000,
        calls=sum(counts.values()) / n,
        counts=counts,
        exhausted=measured.exhausted,
    )


def run_scenario(
    args: argparse.Namespace,
    scenario: str,
    servers: Sequence[Server],
    children: Children,
    sandbox: Child,
    control: run.Control,
    setup: dict[str, Any],
) -> list[Measured]:
    role = run.SCREENS[scenario].role if scenario in run.SCREENS else "member"
    control.reset()
    control.latency(0)
    vus = run.make_vus(control, role, args.vus)
    if scenario in run.SCREENS:
        run.SCREENS[scenario].prepare(control, vus)
    if scenario == "booking":
        # One pool of (slot, provider) pairs per VU, shared by every server in turn.
        for vu in vus:
            vu.gateway_pairs = sorted(vu.gateway_pairs + vu.direct_pairs)
            vu.direct_pairs = []
    control.latency(args.latency_ms)
    api = sandbox.url + API_PREFIX
    results = {s.name: Measured(s.name, scenario) for s in servers}
    kept: dict[str, Child] | None = setup.get("kept")
    started: dict[str, Child] = kept if kept is not None else {}
    try:
        for s in servers:
            if s.name not in started:
                started[s.name] = s.start(children, api, setup)
        agreement = compare_answers(scenario, vus[0], started)
        if agreement:
            setup.setdefault("agreement", {})[scenario] = agreement
            print(f"    {agreement}", file=sys.stderr)
        for number in range(args.rounds):
            for s in servers:
                screen = screen_for(s.name, scenario)
                result = asyncio.run(measure(args, screen, vus, started[s.name], control))
                results[s.name].rounds.append(result)
                print(
                    f"    round {number + 1} {s.name:<10} {result.rps:7.1f} req/s "
                    f"p50 {result.p50:7.1f} ms  CPU {result.cpu_ms:6.2f} ms/req  "
                    f"calls {result.calls:5.2f}  errors {result.errors}",
                    file=sys.stderr,
                )
        for s in servers:
            results[s.name].peak_rss_mib = tree_peak_rss_mib(started[s.name].pid)
    finally:
        if kept is None:
            for child in started.values():
                children.stop(child)
    return [results[s.name] for s in servers]


# -- the report ---------------------------------------------------------------------------------

HEADER = [
    "scenario",
    "server",
    "CPU ms/req",
    "CPU ×gw",
    "req/s",
    "req/s ×gw",
    "p50 ms",
    "p50 ×gw",
    "p99 ms",
    "1-VU p50",
    "peak RSS MiB",
    "calls/req",
    "errors",
]


def _f(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "–"
    return f"{value / base:.2f}×"


def rows(results: Sequence[Measured]) -> list[list[str]]:
    out = []
    by_scenario: dict[str, list[Measured]] = {}
    for m in results:
        by_scenario.setdefault(m.scenario, []).append(m)
    for scenario, group in by_scenario.items():
        base = next((m for m in group if m.server == "gateway"), group[0])
        for m in group:
            cpu, rps, p50 = m.median("cpu_ms"), m.median("rps"), m.median("p50")
            digits = 2 if scenario == "fixed" else 1
            out.append(
                [
                    scenario,
                    SERVERS[m.server].label,
                    _f(cpu, 2),
                    _ratio(cpu, base.median("cpu_ms")),
                    _f(rps, 0),
                    _ratio(rps, base.median("rps")),
                    _f(p50, digits),
                    _ratio(p50, base.median("p50")),
                    _f(m.median("p99"), digits),
                    _f(m.median("unloaded_p50"), digits),
                    _f(m.peak_rss_mib, 0),
                    _f(m.median("calls"), 2),
                    str(m.errors),
                ]
            )
    return out


def notes(results: Sequence[Measured]) -> list[str]:
    lines = []
    for m in results:
        routes = {}
        total = sum(r.requests for r in m.rounds) or 1
        for r in m.rounds:
            for route, n in r.counts.items():
                routes[route] = routes.get(route, 0) + n
        calls = ", ".join(f"{k} {v / total:.3g}" for k, v in sorted(routes.items())) or "none"
        line = f"- {m.scenario}, {m.server}: upstream calls/req by route: {calls}."
        exhausted = sum(r.exhausted for r in m.rounds)
        if exhausted:
            line += f" {exhausted} VU-rounds ran out of their own slots."
        if m.first_error:
            line += f" First error: {m.first_error}"
        lines.append(line)
    return lines


def report(args: argparse.Namespace, results: Sequence[Measured], agreement: dict[str, str]) -> str:
    table = rows(results)
    print()
    print(text_table(HEADER, table, left=(0, 1)))
    print()
    for line in notes(results):
        print(line)
    setup = (
        f"{args.vus} VUs (closed loop), {args.rounds} interleaved round(s) per scenario of "
        f"{args.warmup:g} s warm-up + {args.unloaded:g} s one-at-a-time + {args.duration:g} s "
        f"measured, medians over rounds; {args.latency_ms:g} ms injected per upstream call; "
        f"gateway log level {args.log_level}"
    )
    print(setup)
    versions = peer_versions()
    return "\n".join(
        [
            *machine_lines(),
            f"- Node {node_version()}; peers: {versions}",
            f"- Command: `{command_line()}`",
            f"- {setup}.",
            "- `×gw` is each server's figure divided by the gateway's (1 worker) in the same "
            "scenario. CPU is the server's whole process tree; RSS is its peak (VmHWM, summed "
            "over the tree); calls are counted by the sandbox.",
            "",
            markdown_table(HEADER, table, left=(0, 1)),
            "",
            *notes(results),
            *(f"- {scenario}: {text}." for scenario, text in agreement.items()),
        ]
    )


def node_version() -> str:
    try:
        return subprocess.run(
            [_node(), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError, SystemExit):
        return "unknown"


def peer_versions() -> str:
    lock = json.loads((PEERS / "package-lock.json").read_text())
    packages = lock.get("packages", {})
    names = ["@apollo/server", "@apollo/datasource-rest", "dataloader", "graphql"]
    names += ["@graphql-hive/gateway", "@graphql-mesh/compose-cli", "@omnigraph/openapi"]
    found = [
        f"{name} {packages[f'node_modules/{name}']['version']}"
        for name in names
        if f"node_modules/{name}" in packages
    ]
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per round")
    parser.add_argument("--unloaded", type=float, default=1.0, help="seconds of 1-VU requests")
    parser.add_argument("--vus", type=int, default=8, help="virtual users (connections)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="injected per upstream call")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list")
    parser.add_argument(
        "--servers",
        default="gateway,gateway-2w,apollo,hive",
        help="comma list from: " + ", ".join(SERVERS),
    )
    parser.add_argument("--seed", type=int, default=7, help="sandbox data seed")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 2 minutes")
    parser.add_argument(
        "--keep-servers",
        action="store_true",
        help="start each server once for all scenarios (faster; peak RSS is then the run's)",
    )
    parser.add_argument(
        "--base",
        metavar="REV",
        help="also measure the gateway as of this git revision (server `gateway-base`)",
    )
    parser.add_argument("--markdown", type=Path, help="update the peers block of this file")
    parser.add_argument("--json", type=Path, help="write every round as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.unloaded = 1, 1.0, 0.3, 0.2
        args.vus = min(args.vus, 4)
        args.keep_servers = True
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    names = [s.strip() for s in args.servers.split(",") if s.strip()]
    base_tree = tempfile.TemporaryDirectory(prefix="vsee-bench-base-")
    if args.base:
        if not re.fullmatch(r"[0-9A-Za-z._/-]{1,100}", args.base):
            parser.error("--base: a git revision (commit, tag or branch)")
        tree = export_revision(args.base, Path(base_tree.name))
        label = f"this gateway at {args.base} (1 worker)"
        SERVERS["gateway-base"] = Server("gateway-base", label, _gateway_at(args.base, tree))
        if "gateway-base" not in names:
            names.insert(1, "gateway-base")
    if unknown := [s for s in scenarios if s not in SCENARIOS]:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    if unknown := [s for s in names if s not in SERVERS]:
        parser.error(f"unknown servers: {', '.join(unknown)}")
    if not (1 <= args.rounds <= MAX_ROUNDS and 1 <= args.vus <= run.MAX_VUS):
        parser.error(f"--rounds 1..{MAX_ROUNDS}, --vus 1..{run.MAX_VUS}")
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 120 and args.latency_ms >= 0):
        parser.error("--duration 0..600 s, --warmup 0..120 s, --latency-ms >= 0")
    if any(n in ("apollo", "hive") for n in names) and not (PEERS / "node_modules").is_dir():
        parser.error("peers not installed: run `make bench-peers` (npm ci in benchmarks/peers)")

    exit_on_sigterm()
    servers = [SERVERS[n] for n in names]
    results: list[Measured] = []
    started = time.monotonic()
    with Children() as children:
        sandbox = start_sandbox(children, seed=args.seed)
        control = run.Control(sandbox)
        setup: dict[str, Any] = {"log_level": args.log_level}
        if args.keep_servers:
            setup["kept"] = {}
        if "hive" in names:
            out = Path(children._logs.name)
            print("composing Hive's supergraph from peers/openapi.yaml ...", file=sys.stderr)
            setup["supergraph"] = compose_hive(sandbox.url + API_PREFIX, out)
        try:
            for scenario in scenarios:
                print(f"[{time.monotonic() - started:5.0f} s] {scenario} ...", file=sys.stderr)
                results += run_scenario(args, scenario, servers, children, sandbox, control, setup)
        except KeyboardInterrupt:
            print("interrupted; reporting what finished", file=sys.stderr)
        finally:
            control.http.close()
    if not results:
        return
    text = report(args, results, setup.get("agreement", {}))
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                [{**m.__dict__, "rounds": [r.__dict__ for r in m.rounds]} for m in results],
                indent=2,
            )
        )
    if args.markdown is not None:
        replace_block(args.markdown, "peers", text)
        print(f"updated {args.markdown}")


if __name__ == "__main__":
    main()
