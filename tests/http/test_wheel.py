"""The built wheel is the whole product: installed alone, without Node, it serves GraphiQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gateway import __version__
from gateway.web_assets import ASSETS
from tests.conftest import DEMO_HEADERS
from tests.http.conftest import node
from tests.servers import Sandbox, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(web_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist, then the wheel built from that sdist (python -m build's default order)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("vsee_gateway-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its dependencies, nothing from this checkout."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    return venv


def clean_env(venv: Path, home: Path, **extra: str) -> dict[str, str]:
    """No Node, no source tree and no VSEE_* from the test run: a stranger's machine."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VSEE_", "PYTHON", "VIRTUAL_ENV", "npm_", "NODE"))
    }
    env.update(PATH=str(venv / "bin"), HOME=str(home), **extra)
    return env


@pytest.fixture
def served(installed: Path, sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """The installed command serving against the sandbox (installed apart, in this test run)."""
    port = free_port()
    env = clean_env(
        installed,
        tmp_path,
        VSEE_LOG_LEVEL="warning",
        VSEE_GRAPHIQL_HEADERS=json.dumps(DEMO_HEADERS),
    )
    command = [str(installed / "bin" / "vsee-gateway"), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--upstream-url", sandbox.api_url],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stdout is not None
        banner = process.stdout.read()
        process.stdout.close()
    assert "GraphiQL: on" in banner, banner


def test_the_wheel_carries_graphiql_and_nothing_of_the_sandbox(
    wheel: Path, dist: Path, sandbox: Sandbox
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        # The package itself (the metadata carries README.md, which documents the sandbox).
        contents = b"".join(archive.read(name) for name in names if name.startswith("gateway/"))
        manifest = json.loads(archive.read("gateway/http/static/manifest.json"))
    assert {f"gateway/http/static/{name}" for name in ASSETS} <= set(names)
    assert {"graphiql", "react", "react-dom"} <= set(manifest["packages"])
    assert any(name.startswith("gateway/http/static/licenses/graphiql/") for name in names)
    # GraphiQL's example tabs are the repository's operation files, shipped as package data.
    assert {"gateway/operations/MobileHome.graphql", "gateway/operations/manifest.json"} <= set(
        names
    )
    assert not [name for name in names if "sandbox" in name.lower()]
    assert not [name for name in names if name.startswith(("tests/", "web/", "deploy/"))]
    # Every demo token and the sandbox's SSO secret, as the sandbox itself lists them.
    listed = sandbox.http.get(f"{sandbox.url}/_sandbox/users").json()
    secrets = {user["token"] for account in listed["accounts"] for user in account["users"]}
    secrets |= set(listed["sso"].values())
    assert len(secrets) >= 6
    for secret in secrets:
        assert secret.encode() not in contents, f"{secret} is in the wheel's package"
    # The sdist builds the same wheel offline: it carries the lockfile and verified tarballs.
    (sdist,) = dist.glob("vsee_gateway-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"web/package-lock.json", "hatch_build.py", "pyproject.toml"} <= members
    assert any(name.startswith("web/npm-tarballs/graphiql-") for name in members)
    assert not [name for name in members if name.startswith(("sandbox/", "tests/", "web/node_"))]


def test_the_installed_command_is_the_wheels(installed: Path, tmp_path: Path) -> None:
    env = clean_env(installed, tmp_path)
    python = str(installed / "bin" / "python")
    where = run([python, "-c", "import gateway; print(gateway.__file__)"], env=env, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed)
    version = run([str(installed / "bin" / "vsee-gateway"), "--version"], env=env, cwd=tmp_path)
    assert version.stdout.strip() == f"vsee-gateway {__version__}"
    assert run([python, "-c", "import shutil; print(shutil.which('node'))"], env=env).stdout == (
        "None\n"
    )


def test_serve_sandbox_says_how_to_get_the_sandbox(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "bin" / "vsee-gateway"), "serve", "--sandbox", "--port", "0"],
        env=clean_env(installed, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "vsee-sandbox" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == "", "no banner for a gateway that does not start"


def test_graphiql_from_the_installed_wheel_runs_a_query_in_chromium(
    served: str, chromium: Path, tmp_path: Path
) -> None:
    report = json.loads(
        node("browser.mjs", f"{served}/graphql", "{ rooms { nodes { code name } } }").stdout
    )
    assert report["status"] == 200
    result = json.loads(report["result"])
    assert "errors" not in result, result
    assert {room["code"] for room in result["data"]["rooms"]["nodes"]} >= {"vclinicroom"}
    assert {urlsplit(url).netloc for url in report["requests"]} == {urlsplit(served).netloc}
    assert report["problems"] == []
    # Its example tabs come from the wheel's operations/ copy, not from a source tree.
    page = httpx.get(f"{served}/graphql", headers={"Accept": "text/html"}, timeout=10).text
    assert "query MobileHome" in page
    assert "query VisitDetail" in page
