"""deploy/k8s: valid against the Kubernetes schemas, and wired, probed and locked down right."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.support import (
    K8S,
    SECRET_NAME,
    graceful_shutdown_seconds,
    load_yaml,
    load_yaml_documents,
    settings_from_env,
)

# The oldest release these manifests target (the preStop sleep action is on by default from
# 1.30) and the newest one kubernetes-validate ships schemas for.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())

MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")
EXAMPLES = sorted((K8S / "examples").glob("*.yaml"))

Resource = dict[str, Any]


def resources_of(paths: list[Path]) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for path in paths:
        for document in load_yaml_documents(path):
            key = document["kind"]
            assert key not in found, f"two {key}s"
            found[key] = document
    return found


@pytest.fixture(scope="module")
def resources() -> dict[str, Resource]:
    return resources_of(MANIFESTS)


@pytest.fixture(scope="module")
def deployment(resources: dict[str, Resource]) -> Resource:
    return resources["Deployment"]


@pytest.fixture(scope="module")
def pod(deployment: Resource) -> Resource:
    spec: Resource = deployment["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def container(pod: Resource) -> Resource:
    containers: list[Resource] = pod["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS + EXAMPLES, ids=lambda path: path.name)
def test_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    documents = load_yaml_documents(path)
    assert documents, f"{path.name} is empty"
    for document in documents:
        # strict: unknown fields (typos) fail too; a kind without a schema raises as well.
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_a_misspelt_field(container: Resource, deployment: Resource) -> None:
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = container[
        "readinessProbe"
    ]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_expected_resources_and_nothing_else(resources: dict[str, Resource]) -> None:
    assert set(resources) == {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    }
    assert "Secret" not in resources, "secrets are referenced, never shipped"
    for resource in resources.values():
        assert "namespace" not in resource["metadata"], "the namespace is the applier's choice"


def test_kustomization_lists_every_manifest_and_no_example(deployment: Resource) -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = kustomization["resources"]
    assert sorted(listed) == sorted(path.name for path in MANIFESTS)
    assert not any("example" in name for name in listed)
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert [entry["name"] for entry in kustomization["images"]] == [image.split(":")[0]]


# -- Deployment ----------------------------------------------------------------------------


def http_port(container: Resource) -> int:
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000, "metrics": 9464}, (
        "the image serves on 8000 (its ENTRYPOINT's --port), metrics on VSEE_METRICS_PORT"
    )
    return 8000


def probe_target(container: Resource, probe: str) -> tuple[str, int]:
    get = container[probe]["httpGet"]
    port = get["port"]
    number = http_port(container) if port == "http" else port
    return get["path"], number


def test_probes_point_at_healthz_and_readyz_on_the_container_port(container: Resource) -> None:
    assert probe_target(container, "readinessProbe") == ("/readyz", 8000)
    assert probe_target(container, "livenessProbe") == ("/healthz", 8000)
    if "startupProbe" in container:
        assert probe_target(container, "startupProbe") == ("/healthz", 8000)
    readiness = container["readinessProbe"]
    liveness = container["livenessProbe"]
    # Liveness must not be quicker to give up than readiness is to take a pod out.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )


def test_runs_as_uid_10001_locked_down(pod: Resource, container: Resource) -> None:
    pod_context = pod["securityContext"]
    assert pod_context["runAsNonRoot"] is True
    assert pod_context["runAsUser"] == 10001
    assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False


def test_only_tmp_is_writable(pod: Resource, container: Resource) -> None:
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert set(mounts) == {"/tmp"}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert volumes[mounts["/tmp"]]["emptyDir"].get("sizeLimit")


def test_resources_have_requests_and_limits(container: Resource) -> None:
    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}, kind


def test_shutdown_drains_before_the_pod_is_killed(pod: Resource, container: Resource) -> None:
    pre_stop = container["lifecycle"]["preStop"]
    sleep = pre_stop["sleep"]["seconds"] if "sleep" in pre_stop else 0
    assert sleep >= 3, "endpoints need a few seconds to drop the pod before SIGTERM"
    assert pod["terminationGracePeriodSeconds"] >= sleep + graceful_shutdown_seconds() + 5


def test_no_service_links(pod: Resource) -> None:
    """A Service named vsee-gateway would otherwise inject VSEE_GATEWAY_PORT=tcp://...:80."""
    assert pod["enableServiceLinks"] is False


def test_settings_come_from_the_configmap_and_the_cache_url_from_a_secret(
    container: Resource, resources: dict[str, Resource]
) -> None:
    assert container["envFrom"] == [
        {"configMapRef": {"name": resources["ConfigMap"]["metadata"]["name"]}}
    ]
    env = {entry["name"]: entry for entry in container.get("env", [])}
    assert set(env) == {"VSEE_CACHE_URL"}
    assert "value" not in env["VSEE_CACHE_URL"]
    reference = env["VSEE_CACHE_URL"]["valueFrom"]["secretKeyRef"]
    secrets = resources_of(EXAMPLES)
    example = secrets["Secret"]
    assert reference["name"] == example["metadata"]["name"]
    assert reference["key"] in example["stringData"]
    assert reference.get("optional", False) is False, "replicas must share Redis, not go without"


def test_the_example_secret_is_marked_and_holds_a_placeholder() -> None:
    (path,) = EXAMPLES
    assert ".example." in path.name
    assert path.read_text().startswith("# EXAMPLE ONLY")
    secret = resources_of(EXAMPLES)["Secret"]
    assert "CHANGE-ME" in secret["stringData"]["url"]


def test_configmap_holds_valid_production_settings(
    resources: dict[str, Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    data: dict[str, str] = resources["ConfigMap"]["data"]
    assert all(isinstance(value, str) for value in data.values())
    for key in data:
        assert key.startswith("VSEE_"), key
        assert not SECRET_NAME.search(key), f"{key} belongs in a Secret"
        assert key != "VSEE_CACHE_URL", "the cache URL may hold a password: Secret"
    settings = settings_from_env(monkeypatch, data)
    assert settings.graphiql is False
    assert settings.log_format == "json"
    assert settings.workers == 1
    assert str(settings.api_url).startswith("https://")
    assert "VSEE_AVAILABILITY_TTL" in data


def test_replicas_are_spread_over_nodes(pod: Resource, deployment: Resource) -> None:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    constraints = pod.get("topologySpreadConstraints", [])
    anti_affinity = pod.get("affinity", {}).get("podAntiAffinity")
    assert constraints or anti_affinity
    keys = {constraint["topologyKey"] for constraint in constraints}
    assert "kubernetes.io/hostname" in keys
    for constraint in constraints:
        selector = constraint["labelSelector"]["matchLabels"]
        assert selector.items() <= labels.items()


def test_rollouts_never_drop_below_the_replica_count(deployment: Resource) -> None:
    assert deployment["spec"]["replicas"] >= 2
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0
    assert rolling["maxSurge"] >= 1


def test_image_is_tagged_not_latest(container: Resource) -> None:
    name, _, tag = container["image"].rpartition(":")
    assert name
    assert tag
    assert tag != "latest"


def test_selector_matches_the_pod_labels(deployment: Resource) -> None:
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector
    assert selector.items() <= labels.items()


def test_service_account_exists_without_a_token(
    pod: Resource, resources: dict[str, Resource]
) -> None:
    account = resources["ServiceAccount"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["automountServiceAccountToken"] is False


# -- Service, HPA, PDB ---------------------------------------------------------------------


def test_service_routes_port_80_to_the_pods_http_port(
    resources: dict[str, Resource], deployment: Resource, container: Resource
) -> None:
    service = resources["Service"]["spec"]
    assert service.get("type", "ClusterIP") == "ClusterIP"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["selector"]
    assert service["selector"].items() <= labels.items()
    (port,) = service["ports"]
    assert port["port"] == 80
    assert port["name"] == "http"
    assert port["targetPort"] in {each["name"] for each in container["ports"]}


def test_hpa_scales_the_deployment_on_cpu(
    resources: dict[str, Resource], deployment: Resource, container: Resource
) -> None:
    hpa = resources["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert spec["minReplicas"] >= 2
    assert spec["minReplicas"] <= deployment["spec"]["replicas"] <= spec["maxReplicas"]
    (metric,) = spec["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert "cpu" in container["resources"]["requests"], "utilization is relative to requests"


def test_pdb_keeps_one_pod_and_still_lets_nodes_drain(
    resources: dict[str, Resource], deployment: Resource
) -> None:
    pdb = resources["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    spec = pdb["spec"]
    assert spec["minAvailable"] == 1
    assert spec["minAvailable"] < resources["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert spec["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow"
