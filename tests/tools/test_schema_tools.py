"""The schema as client tooling sees it: codegen + tsc, schema lint, breaking changes, Apollo."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_app
from tests.conftest import MEMBER, PROVIDER, gateway_settings
from tests.servers import Sandbox, ServerThread, gid

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
BIN = TOOLS / "node_modules" / ".bin"
SCHEMA = ROOT / "schema.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"
# The packages these tests run; `npm ci` reinstalls tools/ when one is missing or the lock moved.
PACKAGES = (
    "@apollo/client",
    "@graphql-codegen/cli",
    "@graphql-codegen/client-preset",
    "@graphql-inspector/cli",
    "graphql-ws",
    "graphql-schema-linter",
    "typescript",
)


def _run(command: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=TOOLS, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"{' '.join(done.args)} failed ({done.returncode}):\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


@pytest.fixture(scope="session")
def tools() -> Path:
    """tools/node_modules as tools/package-lock.json pins it; skipped only where Node is absent."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node 20+ and npm are needed for the client tooling checks")
    modules = TOOLS / "node_modules"
    installed = modules / ".package-lock.json"
    fresh = installed.is_file() and (
        installed.stat().st_mtime >= (TOOLS / "package-lock.json").stat().st_mtime
    )
    if not fresh or not all((modules / name / "package.json").is_file() for name in PACKAGES):
        _ok(_run(["npm", "ci", "--no-audit", "--no-fund"], timeout=900))
    return modules


def test_codegen_client_preset_and_tsc_pass(tools: Path) -> None:
    shutil.rmtree(TOOLS / "generated", ignore_errors=True)
    _ok(_run([str(BIN / "graphql-codegen"), "--config", "codegen.ts"]))
    generated = (TOOLS / "generated" / "graphql.ts").read_text(encoding="utf-8")
    # Every shipped operation got its typed document, so tsc below checks all of them.
    for operation in (ROOT / "operations").glob("*.graphql"):
        assert f"{operation.stem}Document" in generated, operation.name
    _ok(_run([str(BIN / "tsc"), "-p", "tsconfig.json"]))


def test_schema_lint_passes(tools: Path) -> None:
    # The rules: tools/.graphql-schema-linterrc (descriptions everywhere, naming, Relay).
    _ok(_run([str(BIN / "graphql-schema-linter"), "--format", "compact"]))


def test_schema_lint_exempts_nothing() -> None:
    # Every member is described; an `ignore` list (or inline lint-disable) would hide a gap.
    config = json.loads((TOOLS / ".graphql-schema-linterrc").read_text(encoding="utf-8"))
    assert "ignore" not in config, config["ignore"]
    assert "lint-disable" not in SCHEMA.read_text(encoding="utf-8")
    for rule in ("types", "fields", "arguments", "enum-values", "input-object-values"):
        assert f"{rule}-have-descriptions" in config["rules"]


def unreleased(changelog: str) -> str:
    """The text of CHANGELOG.md's `## Unreleased` section (up to the next `## ` heading)."""
    match = re.search(r"^## Unreleased[^\n]*\n(.*?)(?=^## |\Z)", changelog, re.M | re.S)
    return match.group(1) if match else ""


def acknowledges_breaking(changelog: str) -> bool:
    """The rule: Unreleased has a `### Breaking` heading (e.g. `### Breaking: schema v2`)."""
    return re.search(r"^### Breaking\b", unreleased(changelog), re.M) is not None


def test_breaking_change_rule() -> None:
    released = "# Changelog\n\n## Unreleased\n\n## 1.0\n### Breaking\n- old\n"
    assert not acknowledges_breaking(released)
    assert acknowledges_breaking("## Unreleased\n### Breaking: v2\n- `Visit.x` removed\n## 1.0\n")
    assert not acknowledges_breaking("## Unreleased\n- **Breaking:** inline only\n")


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def base_schema() -> tuple[str, str] | None:
    """The schema to compare with: $SCHEMA_BASE's, else main's merge-base, else HEAD~1's."""
    import os

    candidates = [os.environ.get("SCHEMA_BASE")] if os.environ.get("SCHEMA_BASE") else []
    head = _git("rev-parse", "HEAD")
    base = _git("merge-base", "HEAD", "main")
    if base and base != head:
        candidates.append(base)
    candidates.append("HEAD~1")
    for commit in candidates:
        text = _git("show", f"{commit}:schema.graphql")
        if text is not None:
            return commit, text + "\n"
    return None


def test_breaking_changes_are_acknowledged_in_changelog(tools: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None or (found := base_schema()) is None:
        pytest.skip("no git history to compare schema.graphql with")
    commit, text = found
    old = tmp_path / "base.graphql"
    old.write_text(text, encoding="utf-8")
    done = _run([str(BIN / "graphql-inspector"), "diff", str(old), str(SCHEMA)])
    if done.returncode == 0:
        return
    report = done.stdout + done.stderr
    assert "breaking change" in report, report[-4000:]
    assert acknowledges_breaking(CHANGELOG.read_text(encoding="utf-8")), (
        f"schema.graphql has breaking changes against {commit}; list them under a "
        f"`### Breaking` heading in CHANGELOG.md's Unreleased section:\n{report[-4000:]}"
    )


@pytest.fixture(scope="module")
def private_gateway() -> Iterator[tuple[str, Sandbox]]:
    """A sandbox and gateway of their own: the booking below must not change others' data."""
    from vsee_sandbox import SandboxConfig
    from vsee_sandbox import create_app as create_sandbox

    with ServerThread(create_sandbox(SandboxConfig(seed=7))) as upstream:
        sandbox = Sandbox(upstream.url)
        with ServerThread(create_app(gateway_settings(sandbox))) as server:
            yield f"{server.url}/graphql", sandbox
        sandbox.http.close()


def test_apollo_client_cache_runs_every_operation_without_warnings(
    tools: Path, private_gateway: tuple[str, Sandbox]
) -> None:
    url, sandbox = private_gateway
    member = next(u for u in sandbox.users() if u.get("token") == MEMBER)
    done = _run(
        [
            "node",
            "--conditions=development",
            "apollo.mjs",
            url,
            MEMBER,
            PROVIDER,
            gid("Member", member["id"]),
        ]
    )
    report = json.loads(_ok(done))
    assert not report["warnings"], report["warnings"]
    shipped = {path.stem for path in (ROOT / "operations").glob("*.graphql")}
    assert set(report["ran"]) == shipped
