"""Shared plumbing for the benchmark scripts: child servers, /proc readings, reports."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_PREFIX = "/vc/next/api_v3"
LOOPBACK = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the benchmark dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A server process started by the benchmark, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class Children:
    """Owns every child process; stopping is idempotent and runs on any exit path."""

    def __init__(self) -> None:
        self._children: list[Child] = []
        self._logs = tempfile.TemporaryDirectory(prefix="vsee-bench-")

    def spawn(
        self,
        name: str,
        args: Sequence[str],
        *,
        url: str,
        health: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Child:
        log_path = Path(self._logs.name) / f"{name}-{len(self._children)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(args),
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        child = Child(name, process, url, log_path)
        self._children.append(child)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up:\n{child.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + health, timeout=1).status_code == 200:
                    return child
            if time.monotonic() > deadline:
                self.stop(child)
                raise RuntimeError(f"{name} did not start within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self, child: Child) -> None:
        if child.process.poll() is None:
            child.process.terminate()
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
        if child in self._children:
            self._children.remove(child)

    def close(self) -> None:
        for child in reversed(list(self._children)):
            self.stop(child)
        self._logs.cleanup()

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (and child cleanup) run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def start_sandbox(children: Children, *, seed: int = 7, latency_ms: float = 0.0) -> Child:
    port = free_port()
    return children.spawn(
        "sandbox",
        [
            sys.executable,
            "-m",
            "vsee_sandbox",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_ms),
        ],
        url=f"http://{LOOPBACK}:{port}",
        health="/_sandbox/health",
    )


def start_gateway(children: Children, upstream_api: str, env: Mapping[str, str]) -> Child:
    """``python -m gateway serve``, one worker, configured by ``VSEE_*`` variables."""
    port = free_port()
    return children.spawn(
        "gateway",
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
            "1",
            "--upstream-url",
            upstream_api,
        ],
        url=f"http://{LOOPBACK}:{port}",
        health="/healthz",
        env=env,
    )


# -- /proc -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def self_cpu_seconds() -> float:
    return time.process_time()


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the largest resident set the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- reports -----------------------------------------------------------------------------------


def machine_lines() -> list[str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        f"- CPU: {os.cpu_count()} cores (`nproc`), {model}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"- Date: {datetime.now(tz=UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


def command_line() -> str:
    exe = (
        os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    )
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    return shlex.join([exe, script, *sys.argv[1:]])


def replace_block(path: Path, name: str, body: str) -> None:
    """Put ``body`` between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in ``path``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, left: Sequence[int] = (0,)
) -> str:
    """A Markdown table; columns in ``left`` are left-aligned, the others right-aligned."""
    rule = "|".join("---" if i in left else "---:" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", f"|{rule}|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, left: Sequence[int] = (0,)
) -> str:
    """A plain-text table; columns in ``left`` are left-aligned, the others right-aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [fmt(header), "  ".join("-" * w for w in widths)]
    out.extend(fmt(row) for row in rows)
    return "\n".join(out)
