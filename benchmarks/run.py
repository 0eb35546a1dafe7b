"""The benchmark suite: app screens through the gateway vs the upstream floor and a direct client.

Three processes on loopback: the sandbox upstream (its own process, with injected latency per
call), the gateway (``python -m gateway serve``, one worker, restarted for every scenario so
CPU and peak memory are its own), and this load generator. The method follows The Guild's
graphql-gateways-benchmark: a warm-up, then a fixed number of closed-loop virtual users (VUs)
for a fixed time. Every VU has its own credentials from ``/_sandbox/users``, so no cache
serves one caller's answer to another; only the availability bursts share one scope on purpose.

For every scenario the same screen is also fetched the way a mobile app without the gateway
would: REST calls to the sandbox one after the other, each VU with its own token. Its call
count is the minimum the upstream API allows for the screen, and its dependency depth times
the injected latency is the floor no client can beat.

    .venv/bin/python benchmarks/run.py                    # a few minutes
    .venv/bin/python benchmarks/run.py --quick            # smoke run, seconds
    .venv/bin/python benchmarks/run.py --scenarios dashboard --profile dashboard

See benchmarks/README.md for every column.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
import httpx
import orjson
from _harness import (
    API_PREFIX,
    Child,
    Children,
    command_line,
    cpu_seconds,
    exit_on_sigterm,
    machine_lines,
    markdown_table,
    peak_rss_mib,
    replace_block,
    start_gateway,
    start_sandbox,
    text_table,
)

# Hard bounds on every loop, whatever the options say.
MAX_ITERATIONS_PER_VU = 200_000
MAX_BURST_ROUNDS = 100_000
MAX_VUS = 500
REQUEST_TIMEOUT_S = 60
DAY = 86_400
SLOT_UNIT = 15 * 60
ONE_SCREEN = 1

# -- the screens' GraphQL documents ---------------------------------------------------------------

# The trusted documents in operations/ (the manifest the gateway can enforce is built from them).
OPERATIONS = Path(__file__).resolve().parents[1] / "operations"


def _operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


HOME = _operation("HomeScreen")
DETAIL = _operation("VisitDetailScreen")
DASHBOARD = _operation("DashboardScreen")
CREATE_INTAKE = _operation("BookingIntake")
SLOTS = _operation("BookingSlots")
BOOK = _operation("BookAppointment")


# -- load generation ----------------------------------------------------------------------------


class Failure(Exception):
    """A request that failed: transport error, non-200, GraphQL errors or userErrors."""


class Exhausted(Exception):
    """A VU has nothing left to do (the booking scenario ran out of its own slots)."""


@dataclass
class Outcome:
    latency: float  # seconds; NaN for failures
    error: str | None = None


Pair = tuple[int, int, str]  # slot start, slot end, provider id


@dataclass
class VU:
    """A virtual user: one set of credentials and what its screen needs."""

    index: int
    token: str
    account: str
    user_id: str
    room: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    visit_id: str = ""
    gateway_pairs: list[Pair] = field(default_factory=list)
    direct_pairs: list[Pair] = field(default_factory=list)
    # What the direct client needed for this VU's screen: upstream calls and dependency depth.
    direct_calls: int = 0
    direct_requests: int = 0
    depth: int = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"X-ApiToken": self.token, "X-AccountCode": self.account}


@dataclass
class Load:
    """The HTTP session of one phase and where it sends requests."""

    http: aiohttp.ClientSession
    gateway: str  # .../graphql
    api: str  # the sandbox's api_v3 base


@dataclass
class Phase:
    outcomes: list[list[Outcome]]  # per VU
    wall: float
    exhausted: int = 0

    @property
    def all(self) -> list[Outcome]:
        return [o for per_vu in self.outcomes for o in per_vu]

    @property
    def requests(self) -> int:
        return sum(len(per_vu) for per_vu in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return [o.error for o in self.all if o.error is not None]

    def latencies_ms(self) -> list[float]:
        return sorted(o.latency * 1000 for o in self.all if o.error is None)

    def rate(self) -> float:
        return self.requests / self.wall if self.wall > 0 else 0.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def graphql(load: Load, vu: VU, query: str, variables: dict[str, Any]) -> tuple[float, Any]:
    payload = orjson.dumps({"query": query, "variables": variables})
    headers = {**vu.headers, "Content-Type": "application/json"}
    started = time.perf_counter()
    try:
        async with load.http.post(load.gateway, data=payload, headers=headers) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Failure(f"gateway: {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - started
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Failure(f"gateway answered {status} with a non-JSON body") from None
    if status != 200 or body.get("errors"):
        error = (body.get("errors") or [{}])[0]
        code = (error.get("extensions") or {}).get("code")
        raise Failure(f"gateway {status} {code}: {error.get('message', '')[:120]}")
    return elapsed, body["data"]


async def rest(
    load: Load,
    vu: VU,
    method: str,
    path: str,
    *,
    params: dict[str, str | int] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    """One direct call to the sandbox, counted on the VU; returns the envelope's data."""
    vu.direct_calls += 1
    data = aiohttp.FormData(form, default_to_multipart=True) if form is not None else None
    try:
        async with load.http.request(
            method, load.api + path, params=params, data=data, headers=vu.headers
        ) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Failure(f"sandbox: {type(exc).__name__}: {exc}") from exc
    if status != 200:
        raise Failure(f"sandbox {status} on {method} {path}: {raw[:120]!r}")
    return orjson.loads(raw)["data"]


Step = Callable[[Load, VU, list[Outcome]], Awaitable[None]]


async def _iterate(load: Load, vu: VU, step: Step, out: list[Outcome]) -> bool:
    """One iteration of ``step``; False when the VU has nothing left to do."""
    try:
        await step(load, vu, out)
    except Exhausted:
        return False
    except Failure as exc:
        out.append(Outcome(math.nan, str(exc)))
    return True


async def closed_loop(
    load: Load, vus: Sequence[VU], step: Step, seconds: float, iterations: int
) -> Phase:
    """Every VU repeats ``step`` back to back until ``seconds`` pass or ``iterations`` are done."""
    deadline = time.perf_counter() + seconds
    exhausted = 0

    async def user(vu: VU) -> list[Outcome]:
        nonlocal exhausted
        out: list[Outcome] = []
        for _ in range(min(iterations, MAX_ITERATIONS_PER_VU)):
            if time.perf_counter() >= deadline:
                break
            if not await _iterate(load, vu, step, out):
                exhausted += 1
                break
        return out

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(user(vu) for vu in vus))
    return Phase(list(outcomes), time.perf_counter() - started, exhausted)


async def one_at_a_time(
    load: Load, vus: Sequence[VU], step: Step, seconds: float, iterations: int
) -> Phase:
    """Unloaded latency: one request in flight at a time, cycling through the VUs' credentials."""
    deadline = time.perf_counter() + seconds
    outcomes: list[list[Outcome]] = [[] for _ in vus]
    done: set[int] = set()
    started = time.perf_counter()
    for n in range(min(iterations, MAX_ITERATIONS_PER_VU)):
        if time.perf_counter() >= deadline or len(done) == len(vus):
            break
        vu = vus[n % len(vus)]
        if vu.index in done:
            continue
        if not await _iterate(load, vu, step, outcomes[n % len(vus)]):
            done.add(vu.index)
    return Phase(outcomes, time.perf_counter() - started, len(done))


async def bursts(load: Load, vus: Sequence[VU], step: Step, seconds: float, rounds: int) -> Phase:
    """All VUs fire at once, wait for the slowest, and again: many clients hitting one scope."""
    deadline = time.perf_counter() + seconds
    outcomes: list[list[Outcome]] = [[] for _ in vus]
    started = time.perf_counter()
    for _ in range(min(rounds, MAX_BURST_ROUNDS)):
        if time.perf_counter() >= deadline:
            break
        await asyncio.gather(*(_iterate(load, vu, step, outcomes[i]) for i, vu in enumerate(vus)))
    return Phase(outcomes, time.perf_counter() - started)


# -- the sandbox's control endpoints ------------------------------------------------------------


class Control:
    """/_sandbox knobs (reset, faults, request log, users) and setup-time API reads."""

    def __init__(self, sandbox: Child) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.url, timeout=60)

    def reset(self) -> None:
        self.http.post("/_sandbox/reset").raise_for_status()

    def latency(self, ms: float) -> None:
        self.http.put("/_sandbox/faults", json={"latency_ms": ms}).raise_for_status()

    def clear_log(self) -> None:
        self.http.delete("/_sandbox/requests").raise_for_status()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.http.get("/_sandbox/requests").json()["counts"]
        return counts

    def accounts(self) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = self.http.get("/_sandbox/users").json()["accounts"]
        return accounts

    def api(self, vu: VU, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.http.get(API_PREFIX + path, params=params, headers=vu.headers)
        response.raise_for_status()
        return response.json()["data"]

    def sso_provider(self, account: str, code: str) -> None:
        response = self.http.post(
            API_PREFIX + "/users/sso",
            data={"first_name": "Bench", "last_name": code, "type": "400", "code": code},
            headers={
                "X-AccountCode": account,
                "X-ApiKey": "demo-api-key",
                "X-ApiSecret": "demo-api-secret",
            },
        )
        response.raise_for_status()


# -- screens --------------------------------------------------------------------------------------


Role = Literal["member", "staff", "shared"]


def _gid(type_name: str, key: object) -> str:
    """The gateway's global id of a VSee object (base64 of "Type:id")."""
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _next_week() -> tuple[str, str]:
    start = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return start.isoformat(), (start + timedelta(days=7)).isoformat()


def _window_params(variables: dict[str, Any]) -> dict[str, Any]:
    """GET /availability's parameters for the window a screen's GraphQL variables name."""
    return {
        "start": int(datetime.fromisoformat(variables["start"]).timestamp()),
        "end": int(datetime.fromisoformat(variables["end"]).timestamp()),
        "duration": 15,
    }


def _distinct(values: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v))


class Screen:
    """What one app screen asks, through the gateway and directly."""

    name = ""
    role: Role = "member"
    what = ""
    requests_per_iteration = 1
    # Dependent upstream round trips of the screen's slowest path, used when the direct client
    # is skipped; otherwise each VU's own depth (as the direct client met it) is used.
    rtts = 1

    def prepare(self, control: Control, vus: list[VU]) -> None:
        """Per-VU inputs, read from the sandbox before the run (at zero latency)."""

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        raise NotImplementedError

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        raise NotImplementedError


class HomeScreen(Screen):
    name = "home"
    rtts = 2
    what = "mobile home: current visit, 5 upcoming with provider and intake, a week of slots"

    def prepare(self, control: Control, vus: list[VU]) -> None:
        start, end = _next_week()
        for vu in vus:
            vu.variables = {"start": start, "end": end, "room": vu.room}

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        elapsed, _ = await graphql(load, vu, HOME, vu.variables)
        out.append(Outcome(elapsed))

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        started = time.perf_counter()
        v = vu.variables
        await rest(load, vu, "GET", "/visits/current")
        now = int(time.time())
        upcoming = await rest(
            load, vu, "GET", "/visits", params={"from": now, "page": 1, "limit": 5}
        )
        intakes = _distinct([row.get("intake_id") for row in upcoming])
        for intake_id in intakes:
            await rest(load, vu, "GET", f"/intakes/{intake_id}")
        slots = await rest(
            load,
            vu,
            "GET",
            "/availability",
            params={**_window_params(v), "room_code": v["room"]},
        )
        if slots:
            # One list call names every provider of the room (id, names, title, photo).
            await rest(load, vu, "GET", f"/rooms/{v['room']}/providers")
        out.append(Outcome(time.perf_counter() - started))
        vu.depth = 2 if intakes else 1


class DetailScreen(Screen):
    name = "detail"
    what = "visit detail: every field the seed's visit example holds"

    def prepare(self, control: Control, vus: list[VU]) -> None:
        for vu in vus:
            # A completed visit carries the most: post-visit note, call log, prescriptions.
            rows = control.api(vu, "/visits", {"status": 40, "limit": 1}) or control.api(
                vu, "/visits", {"limit": 1}
            )
            vu.visit_id = str(rows[0]["id"])

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        elapsed, data = await graphql(load, vu, DETAIL, {"id": _gid("Visit", vu.visit_id)})
        if not data["visit"]:
            raise Failure("visit detail came back empty")
        out.append(Outcome(elapsed))

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        started = time.perf_counter()
        await rest(load, vu, "GET", f"/visits/{vu.visit_id}")
        out.append(Outcome(time.perf_counter() - started))
        vu.depth = 1


class DashboardScreen(Screen):
    name = "dashboard"
    role = "staff"
    rtts = 2
    what = "dashboard: 100 visits with member, provider and intake (staff token)"

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        elapsed, data = await graphql(load, vu, DASHBOARD, {})
        if len(data["visits"]["nodes"]) != 100:
            raise Failure(f"dashboard page held {len(data['visits']['nodes'])} visits, not 100")
        out.append(Outcome(elapsed))

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        started = time.perf_counter()
        rows = await rest(load, vu, "GET", "/visits", params={"page": 1, "limit": 100})
        # The list embeds member and provider but only the intake's id; VSee has no batch read.
        intakes = _distinct([row.get("intake_id") for row in rows])
        for intake_id in intakes:
            await rest(load, vu, "GET", f"/intakes/{intake_id}")
        out.append(Outcome(time.perf_counter() - started))
        vu.depth = 2 if intakes else 1


class BookingScreen(Screen):
    name = "booking"
    what = "booking: createIntake, availability of the slot's day, createAppointment"
    requests_per_iteration = 3

    def prepare(self, control: Control, vus: list[VU]) -> None:
        """Every free (slot, provider) pair of the next weeks, dealt out so no two VUs collide."""
        now = int(time.time())
        start = now + 2 * 3600
        start -= start % SLOT_UNIT
        by_account: dict[str, list[VU]] = {}
        for vu in vus:
            by_account.setdefault(vu.account, []).append(vu)
        for members in by_account.values():
            slots = control.api(
                members[0],
                "/availability",
                {"start": start, "end": start + 26 * DAY, "duration": 15},
            )
            pairs = sorted(
                (int(s["start"]), int(s["end"]), str(p)) for s in slots for p in s["providers"]
            )
            for i, vu in enumerate(members):
                mine = pairs[i :: len(members)]
                vu.gateway_pairs, vu.direct_pairs = mine[0::2], mine[1::2]

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        if not vu.gateway_pairs:
            raise Exhausted
        slot_start, slot_end, provider = vu.gateway_pairs.pop(0)
        elapsed, data = await graphql(
            load,
            vu,
            CREATE_INTAKE,
            {"input": {"reasonForVisit": "benchmark", "type": "APPOINTMENT", "reset": True}},
        )
        payload = data["createIntake"]
        if payload["userErrors"] or not payload["intakeId"]:
            raise Failure(f"createIntake: {payload['userErrors']}")
        out.append(Outcome(elapsed))
        day = slot_start - slot_start % DAY
        elapsed, data = await graphql(load, vu, SLOTS, {"start": _iso(day), "end": _iso(day + DAY)})
        if not any(
            int(datetime.fromisoformat(s["start"]).timestamp()) == slot_start
            and _gid("Provider", provider) in s["providerIds"]
            for s in data["availability"]
        ):
            raise Failure("availability: the VU's own slot was not offered")
        out.append(Outcome(elapsed))
        elapsed, data = await graphql(
            load,
            vu,
            BOOK,
            {
                "input": {
                    "memberId": _gid("Member", vu.user_id),
                    "start": _iso(slot_start),
                    "end": _iso(slot_end),
                    "intakeId": payload["intakeId"],
                    "providerId": _gid("Provider", provider),
                }
            },
        )
        booked = data["createAppointment"]
        if booked["userErrors"] or not booked["visit"]:
            raise Failure(f"createAppointment: {booked['userErrors']}")
        out.append(Outcome(elapsed))

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        if not vu.direct_pairs:
            raise Exhausted
        slot_start, slot_end, provider = vu.direct_pairs.pop(0)
        started = time.perf_counter()
        intake = await rest(
            load,
            vu,
            "POST",
            "/intakes",
            form={"reason_for_visit": "benchmark", "type": "2", "reset": "true"},
        )
        out.append(Outcome(time.perf_counter() - started))
        day = slot_start - slot_start % DAY
        started = time.perf_counter()
        await rest(
            load,
            vu,
            "GET",
            "/availability",
            params={"start": day, "end": day + DAY, "duration": 15},
        )
        out.append(Outcome(time.perf_counter() - started))
        started = time.perf_counter()
        await rest(
            load,
            vu,
            "POST",
            "/appointments",
            form={
                "member_id": vu.user_id,
                "slot_start": str(slot_start),
                "slot_end": str(slot_end),
                "type": "2",
                "intakeId": str(intake["id"]),
                "provider_id": provider,
            },
        )
        out.append(Outcome(time.perf_counter() - started))
        vu.depth = 1


class BurstScreen(Screen):
    name = "burst"
    role = "shared"
    what = "availability bursts: every VU at once, one shared caller scope"

    def prepare(self, control: Control, vus: list[VU]) -> None:
        start, end = _next_week()
        for vu in vus:
            vu.variables = {"start": start, "end": end}

    async def gateway(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        elapsed, _ = await graphql(load, vu, SLOTS, vu.variables)
        out.append(Outcome(elapsed))

    async def direct(self, load: Load, vu: VU, out: list[Outcome]) -> None:
        started = time.perf_counter()
        v = vu.variables
        await rest(
            load,
            vu,
            "GET",
            "/availability",
            params=_window_params(v),
        )
        out.append(Outcome(time.perf_counter() - started))
        vu.depth = 1


SCREENS: dict[str, Screen] = {
    s.name: s
    for s in (HomeScreen(), DetailScreen(), DashboardScreen(), BookingScreen(), BurstScreen())
}


@dataclass(frozen=True)
class Scenario:
    name: str
    screen: str
    zero_latency: bool = False  # the overhead rows: no injected latency
    env: tuple[tuple[str, str], ...] = ()
    note: str = ""
    vus: int | None = None  # overrides --vus (e.g. the 50-connection overload scenario)


SCENARIOS: list[Scenario] = [
    Scenario("home", "home"),
    Scenario("detail", "detail"),
    Scenario("dashboard", "dashboard"),
    # 50 connections on the 100-visit dashboard, one worker: ~5,000 upstream calls wanted at
    # once. Admission control must queue them (slower), never fail them.
    Scenario("dashboard-50", "dashboard", vus=50, note="50 connections, one worker"),
    Scenario("booking", "booking"),
    Scenario("burst-cache", "burst", env=(("VSEE_AVAILABILITY_TTL", "30"),), note="TTL 30 s"),
    Scenario("burst-nocache", "burst", env=(("VSEE_AVAILABILITY_TTL", "0"),), note="TTL 0"),
    Scenario("home-0ms", "home", zero_latency=True),
    Scenario("detail-0ms", "detail", zero_latency=True),
    Scenario("dashboard-0ms", "dashboard", zero_latency=True),
]


# -- running a scenario ---------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    what: str
    latency_ms: float
    vus: int
    tokens: int
    requests: int
    errors: int
    first_error: str | None
    exhausted: int
    rps: float
    p50: float
    p95: float
    p99: float
    unloaded_p50: float
    floor_rtts: float
    calls_per_request: float
    upstream_counts: dict[str, int]
    min_calls: float | None
    direct_p50: float | None
    direct_p95: float | None
    direct_rps: float | None
    direct_sandbox_cpu_ms: float | None
    gateway_cpu_ms: float
    sandbox_cpu_ms: float
    loadgen_cpu_ms: float
    cpu_share: dict[str, float]
    peak_rss_mib: float
    profiled: bool = False

    @property
    def floor_ms(self) -> float:
        return self.floor_rtts * self.latency_ms


@dataclass
class Direct:
    p50: float
    p95: float
    rps: float
    sandbox_cpu_ms: float
    min_per_vu: list[float]
    depth_per_vu: list[int]
    errors: list[str]


def make_vus(control: Control, role: Role, count: int) -> list[VU]:
    """Distinct credentials per VU where the sandbox has enough users; staff are made by SSO."""
    accounts = control.accounts()
    if role == "staff":
        vclinic = next(a for a in accounts if a["code"] == "vclinic")
        staff = [u for u in vclinic["users"] if u["type_name"] in ("admin", "provider")]
        for n in range(len(staff), count):
            control.sso_provider("vclinic", f"bench-provider-{n}")
        if count > len(staff):
            vclinic = next(a for a in control.accounts() if a["code"] == "vclinic")
            staff = [u for u in vclinic["users"] if u["type_name"] in ("admin", "provider")]
        pool = [(u, vclinic) for u in staff]
    else:
        pool = [(u, a) for a in accounts for u in a["users"] if u["type_name"] == "member"]
        if role == "shared":
            pool = [next((u, a) for u, a in pool if u["token"] == "demo-member-token")]
    return [
        VU(
            index=i,
            token=user["token"],
            account=account["code"],
            user_id=str(user["id"]),
            room=account["rooms"][0],
        )
        for i, (user, account) in enumerate(pool[n % len(pool)] for n in range(count))
    ]


def _session(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections + 10),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


class Profiler:
    """py-spy attached to the gateway for the measured phase; prints where the time went."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.out = out
        self.process = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, math.ceil(seconds))),
                "--rate",
                "200",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self, top: int = 25) -> str:
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        return summarize_profile(self.out, top)


def summarize_profile(path: Path, top: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    components: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return f"(no profile written to {path}; is py-spy installed and allowed to ptrace?)"
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        components[_component(frames)] += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "(the profile holds no samples)"
    lines = [f"{total} samples; raw collapsed stacks in {path}", "", "by component:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in components.most_common()]
    lines += ["", "self time:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive time (gateway, strawberry, graphql, httpx, aiohttp frames):"]
    interesting = ("gateway/", "strawberry/", "graphql/", "httpx", "aiohttp/", "aiodataloader")
    picked = [(f, n) for f, n in inclusive.most_common() if any(k in f for k in interesting)]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in picked[:top]]
    return "\n".join(lines)


# First match wins, so a conversion called by a resolver counts as conversion.
_COMPONENTS = (
    (
        "upstream HTTP client (UpstreamClient, httpx, aiohttp)",
        ("gateway/upstream/", "httpx", "aiohttp/", "yarl/", "multidict/"),
    ),
    (
        "gateway: VSee JSON to GraphQL objects (domain modules, _convert.py, enums.py)",
        tuple(
            f"gateway/schema/{name}.py"
            for name in (
                "visits",
                "intakes",
                "people",
                "rooms",
                "billing",
                "clinical",
                "_base",
                "_convert",
                "enums",
            )
        ),
    ),
    ("GraphQL execution (graphql-core, strawberry)", ("graphql/", "strawberry/")),
    ("dataloaders and caches", ("aiodataloader", "gateway/loaders/", "gateway/cache/")),
    (
        "HTTP server, middleware, logging",
        ("uvicorn/", "starlette/", "h11/", "gateway/http/", "gateway/observability/", "logging/"),
    ),
    ("asyncio event loop", ("asyncio/", "selectors")),
)


def _component(frames: Sequence[str]) -> str:
    for name, markers in _COMPONENTS:
        if any(marker in frame for frame in frames for marker in markers):
            return name
    return "other"


def _short(frame: str) -> str:
    """'resolve (/x/site-packages/graphql/execution/execute.py:123)' -> 'resolve (graphql/...)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    where = where.rsplit(":", 1)[0]
    return f"{name} ({where})"


async def gateway_phases(
    args: argparse.Namespace,
    screen: Screen,
    vus: list[VU],
    gateway: Child,
    sandbox: Child,
    control: Control,
    profile_to: Path | None,
) -> tuple[Phase, Phase, dict[str, int], dict[str, float], Profiler | None]:
    burst = screen.role == "shared"
    async with _session(len(vus)) as http:
        load = Load(http, gateway.url + "/graphql", sandbox.url + API_PREFIX)
        if burst:
            await bursts(load, vus, screen.gateway, args.warmup, MAX_BURST_ROUNDS)
        else:
            await closed_loop(load, vus, screen.gateway, args.warmup, MAX_ITERATIONS_PER_VU)
        unloaded = await one_at_a_time(load, vus, screen.gateway, args.unloaded, 500)
        control.clear_log()
        profiler = Profiler(gateway.pid, args.duration, profile_to) if profile_to else None
        cpu0 = {
            "gateway": cpu_seconds(gateway.pid),
            "sandbox": cpu_seconds(sandbox.pid),
            "loadgen": time.process_time(),
        }
        if burst:
            measured = await bursts(load, vus, screen.gateway, args.duration, MAX_BURST_ROUNDS)
        else:
            measured = await closed_loop(
                load, vus, screen.gateway, args.duration, MAX_ITERATIONS_PER_VU
            )
        cpu = {
            "gateway": cpu_seconds(gateway.pid) - cpu0["gateway"],
            "sandbox": cpu_seconds(sandbox.pid) - cpu0["sandbox"],
            "loadgen": time.process_time() - cpu0["loadgen"],
        }
        counts = control.counts()
    return unloaded, measured, counts, cpu, profiler


async def direct_phases(
    args: argparse.Namespace, screen: Screen, vus: list[VU], sandbox: Child
) -> Direct:
    burst = screen.role == "shared"
    async with _session(len(vus)) as http:
        load = Load(http, "", sandbox.url + API_PREFIX)
        # Warm-up: one screen per VU, which also records each VU's minimum calls and depth.
        for vu in vus:
            vu.direct_calls = vu.direct_requests = 0
        if burst:
            first = await bursts(load, vus, screen.direct, math.inf, ONE_SCREEN)
        else:
            first = await closed_loop(load, vus, screen.direct, math.inf, ONE_SCREEN)
        min_per_vu = [
            vu.direct_calls / len(out) if out else math.nan
            for vu, out in zip(vus, first.outcomes, strict=True)
        ]
        sandbox_cpu0 = cpu_seconds(sandbox.pid)
        if burst:
            measured = await bursts(
                load, vus, screen.direct, args.direct_duration, MAX_BURST_ROUNDS
            )
        else:
            measured = await closed_loop(
                load, vus, screen.direct, args.direct_duration, MAX_ITERATIONS_PER_VU
            )
        sandbox_cpu = cpu_seconds(sandbox.pid) - sandbox_cpu0
    latencies = measured.latencies_ms()
    screens = max(1, measured.requests) / screen.requests_per_iteration
    return Direct(
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        rps=measured.rate() / screen.requests_per_iteration,
        sandbox_cpu_ms=sandbox_cpu / screens * 1000,
        min_per_vu=min_per_vu,
        depth_per_vu=[vu.depth for vu in vus],
        errors=first.errors + measured.errors,
    )


def run_scenario(
    args: argparse.Namespace,
    scenario: Scenario,
    children: Children,
    sandbox: Child,
    control: Control,
    direct_cache: dict[tuple[str, float, int], Direct],
) -> Result:
    screen = SCREENS[scenario.screen]
    latency = 0.0 if scenario.zero_latency else args.latency_ms
    vu_count = scenario.vus or (args.burst if screen.role == "shared" else args.vus)
    control.reset()
    control.latency(0)
    vus = make_vus(control, screen.role, vu_count)
    screen.prepare(control, vus)
    control.latency(latency)

    env = dict(scenario.env)
    env.setdefault("VSEE_LOG_LEVEL", args.gateway_log_level)
    # The benchmark measures the gateway's own capacity; per-caller rate limits would cap it.
    env.setdefault("VSEE_RATE_LIMIT", "false")
    if args.transport:
        env["VSEE_UPSTREAM_TRANSPORT"] = args.transport
    profile_to = None
    if args.profile == scenario.name:
        profile_to = Path(args.profile_out or tempfile.mkdtemp(prefix="vsee-profile-")) / (
            f"profile-{scenario.name}.txt"
        )
        profile_to.parent.mkdir(parents=True, exist_ok=True)
    gateway = start_gateway(children, sandbox.url + API_PREFIX, env)
    try:
        unloaded, measured, counts, cpu, profiler = asyncio.run(
            gateway_phases(args, screen, vus, gateway, sandbox, control, profile_to)
        )
        peak = peak_rss_mib(gateway.pid)
    finally:
        children.stop(gateway)
    if profiler is not None:
        print(f"\nprofile of the gateway during {scenario.name}:\n{profiler.finish()}\n")

    direct = None
    if not args.no_direct:
        # Bookings change the sandbox, so only read-only screens reuse an earlier direct run.
        key = (screen.name, latency, len(vus))
        reusable = screen.name != "booking"
        direct = direct_cache.get(key) if reusable else None
        if direct is None:
            direct = asyncio.run(direct_phases(args, screen, vus, sandbox))
            if reusable:
                direct_cache[key] = direct

    n = max(1, measured.requests)
    latencies = measured.latencies_ms()
    unloaded_latencies = unloaded.latencies_ms()
    min_calls = None
    if direct is not None:
        per_vu_requests = [len(out) for out in measured.outcomes]
        weighted = [
            (count, m)
            for count, m in zip(per_vu_requests, direct.min_per_vu, strict=True)
            if not math.isnan(m)
        ]
        if weighted and sum(c for c, _ in weighted):
            min_calls = sum(c * m for c, m in weighted) / sum(c for c, _ in weighted)
    depths = direct.depth_per_vu if direct is not None else [screen.rtts]
    errors = measured.errors
    wall = measured.wall or 1.0
    return Result(
        scenario=scenario.name,
        what=screen.what + (f" ({scenario.note})" if scenario.note else ""),
        latency_ms=latency,
        vus=len(vus),
        tokens=len({vu.token for vu in vus}),
        requests=measured.requests,
        errors=len(errors),
        first_error=errors[0] if errors else None,
        exhausted=measured.exhausted,
        rps=measured.rate(),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        unloaded_p50=percentile(unloaded_latencies, 50),
        floor_rtts=sum(depths) / len(depths),
        calls_per_request=sum(counts.values()) / n,
        upstream_counts=counts,
        min_calls=min_calls,
        direct_p50=direct.p50 if direct else None,
        direct_p95=direct.p95 if direct else None,
        direct_rps=direct.rps if direct else None,
        direct_sandbox_cpu_ms=direct.sandbox_cpu_ms if direct else None,
        gateway_cpu_ms=cpu["gateway"] / n * 1000,
        sandbox_cpu_ms=cpu["sandbox"] / n * 1000,
        loadgen_cpu_ms=cpu["loadgen"] / n * 1000,
        cpu_share={name: seconds / wall for name, seconds in cpu.items()},
        peak_rss_mib=peak,
        profiled=profile_to is not None,
    )


# -- the report -----------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def _calls(value: float | None) -> str:
    """One decimal, but enough digits to tell 0.02 (one call per burst of 50) from 0."""
    if value is not None and 0 < value < 0.95:
        return f"{value:.2g}"
    return _f(value, 1)


HEADER = [
    "scenario",
    "lat ms",
    "VUs",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "1-VU p50",
    "floor ms",
    "p50÷floor",
    "calls/req",
    "min calls",
    "direct p50",
    "gw÷direct",
    "direct/s",
    "GW CPU ms/req",
    "req/core-s",
    "SB CPU ms/screen direct",
    "peak RSS MiB",
    "errors",
]


def table_rows(results: Sequence[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        floor = r.floor_ms
        digits = 1 if r.latency_ms == 0 else 0
        rows.append(
            [
                r.scenario + (" (profiled)" if r.profiled else ""),
                _f(r.latency_ms),
                str(r.vus)
                + (
                    ""
                    if r.tokens == r.vus
                    else f" ({r.tokens} token{'' if r.tokens == 1 else 's'})"
                ),
                _f(r.rps),
                _f(r.p50, digits),
                _f(r.p95, digits),
                _f(r.p99, digits),
                _f(r.unloaded_p50, digits),
                _f(floor) + (f" ({r.floor_rtts:.2g} RTT)" if floor else ""),
                _f(r.p50 / floor, 1, "×") if floor else "–",
                _calls(r.calls_per_request),
                _calls(r.min_calls),
                _f(r.direct_p50, digits),
                _f(r.p50 / r.direct_p50, 2, "×") if r.direct_p50 else "–",
                _f(r.direct_rps),
                _f(r.gateway_cpu_ms, 2),
                _f(1000 / r.gateway_cpu_ms if r.gateway_cpu_ms else None),
                _f(r.direct_sandbox_cpu_ms, 2),
                _f(r.peak_rss_mib),
                str(r.errors),
            ]
        )
    return rows


def notes(results: Sequence[Result]) -> list[str]:
    lines = []
    for r in results:
        share = ", ".join(f"{name} {value:.0%}" for name, value in r.cpu_share.items())
        calls = (
            ", ".join(
                f"{route} {n / max(1, r.requests):.3g}"
                for route, n in sorted(r.upstream_counts.items())
            )
            or "none"
        )
        line = f"- {r.scenario}: {r.what}. CPU of one core: {share}. Upstream calls/req: {calls}."
        if r.exhausted:
            line += f" {r.exhausted} VUs ran out of their own slots."
        if r.first_error:
            line += f" First error: {r.first_error}"
        lines.append(line)
    return lines


def chart(results: Sequence[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.scenario for r in results]
    xs = list(range(len(results)))
    width = 0.26
    fig, ax = plt.subplots(figsize=(max(8.0, 1.25 * len(results) + 2), 5.2))
    for offset, label, values, color in (
        (-width, "p50", [r.p50 for r in results], "#4C72B0"),
        (0.0, "p95", [r.p95 for r in results], "#DD8452"),
        (width, "p99", [r.p99 for r in results], "#C44E52"),
    ):
        ax.bar([x + offset for x in xs], values, width, label=label, color=color)
    floors = [(x, r.floor_ms) for x, r in zip(xs, results, strict=True) if r.floor_ms > 0]
    if floors:
        ax.hlines(
            [f for _, f in floors],
            [x - 1.6 * width for x, _ in floors],
            [x + 1.6 * width for x, _ in floors],
            colors="black",
            linewidth=2.2,
            label="floor (critical path × latency)",
        )
    unloaded = [
        (x, r.unloaded_p50)
        for x, r in zip(xs, results, strict=True)
        if not math.isnan(r.unloaded_p50)
    ]
    ax.scatter(
        [x for x, _ in unloaded],
        [u for _, u in unloaded],
        marker="o",
        facecolors="white",
        edgecolors="black",
        zorder=5,
        label="p50 with one request at a time (1 VU)",
    )
    direct = [(x, r.direct_p50) for x, r in zip(xs, results, strict=True) if r.direct_p50]
    if direct:
        ax.scatter(
            [x for x, _ in direct],
            [d for _, d in direct],
            marker="D",
            color="#55A868",
            zorder=5,
            label="direct client p50 (sequential REST)",
        )
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(
        [f"{n}\n{r.latency_ms:g} ms/call" for n, r in zip(names, results, strict=True)],
        fontsize=8,
    )
    ax.set_ylabel("latency, ms (log scale)")
    ax.set_title("Gateway latency per request vs the upstream floor and a direct client")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(args: argparse.Namespace, results: Sequence[Result]) -> str:
    rows = table_rows(results)
    print()
    print(text_table(HEADER, rows))
    print()
    for line in notes(results):
        print(line)
    setup = (
        f"{args.vus} VUs per scenario ({args.burst} for the bursts), {args.warmup:g} s warm-up, "
        f"{args.duration:g} s measured, direct client {args.direct_duration:g} s; "
        f"{args.latency_ms:g} ms injected per upstream call (0 on the -0ms rows); "
        f"gateway log level {args.gateway_log_level}"
        + (f", upstream transport {args.transport}" if args.transport else "")
        + "."
    )
    print(setup)
    return "\n".join(
        [
            *machine_lines(),
            f"- Command: `{command_line()}`",
            f"- {setup}",
            "",
            markdown_table(HEADER, rows),
            "",
            *notes(results),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds")
    parser.add_argument("--unloaded", type=float, default=1.5, help="seconds of 1-VU requests")
    parser.add_argument(
        "--direct-duration", type=float, default=6.0, help="measured seconds, direct client"
    )
    parser.add_argument("--vus", type=int, default=8, help="virtual users per scenario")
    parser.add_argument("--burst", type=int, default=50, help="clients per availability burst")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="injected per upstream call")
    parser.add_argument(
        "--scenarios",
        default=",".join(s.name for s in SCENARIOS),
        help="comma-separated, from: " + ", ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds")
    parser.add_argument("--seed", type=int, default=7, help="sandbox data seed")
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], help="gateway upstream")
    parser.add_argument(
        "--gateway-log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--no-direct", action="store_true", help="skip the direct client")
    parser.add_argument("--profile", metavar="SCENARIO", help="py-spy the gateway in this one")
    parser.add_argument("--profile-out", type=Path, help="folder for the raw profile")
    parser.add_argument("--json", type=Path, help="write every figure as JSON here")
    parser.add_argument("--markdown", type=Path, help="update the results block of this file")
    parser.add_argument("--chart", type=Path, help="write the latency chart (PNG) here")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.unloaded, args.direct_duration = 1.5, 0.5, 0.5, 1.0
        args.vus = min(args.vus, 4)
        args.burst = min(args.burst, 10)
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    known = {s.name: s for s in SCENARIOS}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    if args.profile and args.profile not in chosen:
        parser.error("--profile must name one of the chosen scenarios")
    if not (1 <= args.vus <= MAX_VUS and 1 <= args.burst <= MAX_VUS):
        parser.error(f"--vus and --burst must be 1..{MAX_VUS}")
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 120 and args.latency_ms >= 0):
        parser.error("--duration 0..600 s, --warmup 0..120 s, --latency-ms >= 0")

    if args.chart is not None and importlib.util.find_spec("matplotlib") is None:
        parser.error("--chart needs matplotlib (pip install -e '.[bench]')")
    if args.profile and not (
        shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists()
    ):
        parser.error("--profile needs py-spy (pip install -e '.[bench]')")

    exit_on_sigterm()
    results: list[Result] = []
    started = time.monotonic()
    with Children() as children:
        sandbox = start_sandbox(children, seed=args.seed)
        control = Control(sandbox)
        direct_cache: dict[tuple[str, float, int], Direct] = {}
        try:
            for name in chosen:
                print(f"[{time.monotonic() - started:5.0f} s] {name} ...", file=sys.stderr)
                results.append(
                    run_scenario(args, known[name], children, sandbox, control, direct_cache)
                )
        except KeyboardInterrupt:
            print("interrupted; reporting what finished", file=sys.stderr)
        finally:
            control.http.close()
    if not results:
        return
    text = report(args, results)
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json is not None:
        args.json.write_bytes(
            orjson.dumps([r.__dict__ for r in results], option=orjson.OPT_INDENT_2)
        )
    if args.chart is not None:
        chart(results, args.chart)
        text += f"\n\n![latency per scenario]({args.chart.name})"
    if args.markdown is not None:
        replace_block(args.markdown, "results", text)
        print(f"updated {args.markdown}")


if __name__ == "__main__":
    main()
