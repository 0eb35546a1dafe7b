"""deploy/compose.yaml and deploy/nginx.conf: Compose-spec valid, wired together, healthy."""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from vsee_sandbox._cli import build_parser as build_sandbox_parser

from gateway.cli import SANDBOX_PREFIX
from gateway.observability._middleware import _REQUEST_ID
from tests.conftest import DEMO_HEADERS
from tests.deploy.support import (
    COMPOSE,
    DEPLOY,
    NGINX_CONF,
    dockerfile_stages,
    load_yaml,
    settings_from_env,
)
from tests.servers import Gateway, Sandbox, free_port


def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as vendored by PyPI's check-jsonschema."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    assert schema["title"] == "Compose Specification"
    return schema


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "gateway", "deploy", "replicas"), {"count": 2}),
        (("services", "gateway", "depends_on", "redis", "condition"), "service_happy"),
        (("services", "gateway", "helthcheck"), {"test": ["CMD", "true"]}),
    ],
)
def test_the_schema_rejects_broken_variants(
    compose: dict[str, Any], path: tuple[str, ...], value: object
) -> None:
    broken = copy.deepcopy(compose)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert schema_errors(broken)


def test_the_cluster_has_its_four_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"sandbox", "redis", "gateway", "lb"}


def test_third_party_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name in ("redis", "lb"):
        image = services[name]["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, image
        assert tag not in ("", "latest"), image
    assert services["redis"]["image"].startswith("redis:7")
    assert services["lb"]["image"].startswith("nginx:")
    assert "alpine" in services["lb"]["image"]


def test_gateway_and_sandbox_are_built_from_deploy_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    targets = {}
    for name in ("gateway", "sandbox"):
        build = services[name]["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert (context / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
        targets[name] = build["target"]
    # The gateway runs the production image, which has no sandbox; only the sandbox uses dev.
    assert targets == {"gateway": "runtime", "sandbox": "dev"}
    stages = {stage.name for stage in dockerfile_stages()}
    assert set(targets.values()) <= stages
    assert services["gateway"]["image"] != services["sandbox"]["image"]


def test_gateway_runs_two_replicas_behind_the_load_balancer(
    services: dict[str, dict[str, Any]],
) -> None:
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] >= 2
    assert "container_name" not in gateway, "a fixed name allows one replica only"
    assert "ports" not in gateway, "replicas are reached through the load balancer"
    assert services["lb"]["ports"]


def sandbox_args(services: dict[str, dict[str, Any]]) -> Any:
    entrypoint = services["sandbox"]["entrypoint"]
    assert entrypoint[0] == "vsee-sandbox"
    return build_sandbox_parser().parse_args(entrypoint[1:])


def test_sandbox_runs_the_sandbox_command(services: dict[str, dict[str, Any]]) -> None:
    args = sandbox_args(services)
    assert args.host == "0.0.0.0"
    assert args.port == 8900


def test_gateway_points_at_the_sandbox_and_redis(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env: dict[str, str] = services["gateway"]["environment"]
    api = urlsplit(env["VSEE_API_URL"])
    assert (api.hostname, api.port) == ("sandbox", sandbox_args(services).port)
    assert api.path == SANDBOX_PREFIX
    cache = urlsplit(env["VSEE_CACHE_URL"])
    assert (cache.scheme, cache.hostname, cache.port) == ("redis", "redis", 6379)
    settings = settings_from_env(
        monkeypatch, {key: str(value) for key, value in env.items() if key.startswith("VSEE_")}
    )
    assert settings.api_base == "http://sandbox:8900/vc/next/api_v3"
    assert settings.cache_url == "redis://redis:6379/0"
    assert settings.log_format == "json"
    assert settings.graphiql_headers == DEMO_HEADERS


def test_start_order_waits_for_health(services: dict[str, dict[str, Any]]) -> None:
    expected = {"gateway": {"sandbox", "redis"}, "lb": {"gateway"}}
    for name, needs in expected.items():
        depends_on = services[name]["depends_on"]
        assert set(depends_on) == needs
        for dependency in needs:
            assert depends_on[dependency]["condition"] == "service_healthy"
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_gateway_and_sandbox_run_without_privileges(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("gateway", "sandbox"):
        service = services[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert "/tmp" in service["tmpfs"]
        assert "user" not in service or service["user"] not in ("0", "root")
    assert services["gateway"]["stop_grace_period"] == "30s"


def python_probe(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-c", test[3]]
    code: str = test[3]
    compile(code, "healthcheck", "exec")
    return code


def test_healthchecks_probe_the_right_endpoints(services: dict[str, dict[str, Any]]) -> None:
    port = sandbox_args(services).port
    assert f"http://127.0.0.1:{port}/_sandbox/health" in python_probe(services["sandbox"])
    assert "http://127.0.0.1:8000/readyz" in python_probe(services["gateway"])


def run_probe(code: str, port: int | str, container_port: int) -> bool:
    source = code.replace(f":{container_port}/", f":{port}/")
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, timeout=30, check=False
    )
    return done.returncode == 0


def test_healthcheck_commands_pass_on_live_servers_and_fail_without(
    services: dict[str, dict[str, Any]], gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox_code = python_probe(services["sandbox"])
    gateway_code = python_probe(services["gateway"])
    assert run_probe(sandbox_code, sandbox.url.rsplit(":", 1)[1], 8900)
    assert run_probe(gateway_code, gateway.url.rsplit(":", 1)[1], 8000)
    assert not run_probe(gateway_code, free_port(), 8000)


# -- nginx ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx() -> str:
    return NGINX_CONF.read_text()


def directive(text: str, name: str) -> list[str]:
    """Arguments of every ``name ...;`` directive, comments removed."""
    code = re.sub(r"#[^\n]*", "", text)
    return [match.strip() for match in re.findall(rf"(?m)^\s*{name}\s+([^;{{]*)[;{{]", code)]


def test_load_balancer_mounts_this_config(services: dict[str, dict[str, Any]]) -> None:
    lb = services["lb"]
    mounts = [volume.split(":") for volume in lb["volumes"]]
    assert mounts == [["./nginx.conf", "/etc/nginx/nginx.conf", "ro"]]
    assert (COMPOSE.parent / "nginx.conf").is_file()


def test_nginx_round_robins_over_the_gateway_service(nginx: str) -> None:
    upstreams = directive(nginx, "upstream")
    assert len(upstreams) == 1
    servers = [server for server in directive(nginx, "server") if server]
    assert [server.split()[0] for server in servers] == ["gateway:8000"]
    # No balancing directive: round-robin, nginx's default; zone shares it across workers.
    for method in ("ip_hash", "hash", "least_conn", "random"):
        assert not directive(nginx, method), method
    assert directive(nginx, "zone")
    assert directive(nginx, "proxy_pass") == [f"http://{upstreams[0]}"]


def test_nginx_listens_where_compose_publishes(
    nginx: str, services: dict[str, dict[str, Any]]
) -> None:
    published = services["lb"]["ports"][0].rsplit(":", 1)[1]
    assert directive(nginx, "listen") == [published]
    health = services["lb"]["healthcheck"]["test"]
    assert f"http://127.0.0.1:{published}/nginx-health" in health
    assert "location = /nginx-health" in nginx


def test_nginx_passes_one_request_id_the_gateway_accepts(nginx: str) -> None:
    headers = directive(nginx, "proxy_set_header")
    assert "X-Request-ID $vsee_request_id" in headers
    # Upstream keepalive for requests, upgrades for subscriptions' WebSockets.
    assert "Connection $vsee_connection" in headers
    assert "Upgrade $http_upgrade" in headers
    assert re.search(r'map \$http_upgrade \$vsee_connection \{\s*default upgrade;\s*"" "";', nginx)
    rule = re.search(r'"~(\^[^"]+\$)"\s+\$http_x_request_id;', nginx)
    assert rule is not None, "no X-Request-ID rule in the map"
    assert rule.group(1) == _REQUEST_ID.pattern, "nginx and the gateway disagree on sane ids"
    assert re.search(r"default\s+\$request_id;", nginx)
    assert '"request_id":"$vsee_request_id"' in nginx


def test_nginx_waits_longer_than_the_gateway_deadline(nginx: str) -> None:
    read_timeout = directive(nginx, "proxy_read_timeout")
    assert read_timeout
    assert int(read_timeout[0].rstrip("s")) > 20


NGINX_CACHE = Path(tempfile.gettempdir()) / "vsee-gateway-deploy-tests" / "nginx"


def nginx_binary() -> str | None:
    """nginx from PATH, else Debian's package unpacked (not installed: no service starts)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found:
        return found
    unpacked = NGINX_CACHE / "root" / "usr" / "sbin" / "nginx"
    if unpacked.is_file():
        return str(unpacked)
    if os.geteuid() != 0 or not (shutil.which("apt-get") and shutil.which("dpkg")):
        return None
    NGINX_CACHE.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        download = ["apt-get", "download", "-qq", "nginx"]
        if subprocess.run(download, cwd=NGINX_CACHE, capture_output=True, timeout=300).returncode:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
            continue
        break
    packages = sorted(NGINX_CACHE.glob("nginx_*.deb"))
    if not packages:
        return None
    subprocess.run(
        ["dpkg", "-x", str(packages[-1]), str(NGINX_CACHE / "root")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return str(unpacked) if unpacked.is_file() else None


def test_nginx_accepts_the_config(nginx: str, tmp_path: Path) -> None:
    """``nginx -t`` on the config, with the replicas' name swapped for a local address."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("no nginx here, and Debian's package cannot be fetched (needs root and apt)")
    temp_paths = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    local = nginx.replace("server gateway:8000", "server 127.0.0.1:8000").replace(
        "http {", "http {\n    " + temp_paths, 1
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(local)
    command = [binary, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)]
    command += ["-g", f"pid {tmp_path / 'nginx.pid'};"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
