"""What the rendered Kubernetes overlays must say, beyond schema validity and checkov
(scripts/check-deploy runs those): who may talk to whom, how each process is started,
probed and fenced, and that no secret is committed."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from typing import Any, Final

import pytest
import yaml

from corelib.config import DEFAULT_SERVICE_PORTS
from tests.edge.envoy_support import ROOT

OVERLAYS: Final = ("sandbox", "staging", "production")
KUSTOMIZE_TIMEOUT_S: Final = 120
SERVICES: Final = tuple(DEFAULT_SERVICE_PORTS)
# Who calls whom over gRPC: corelib/auth_client.py (everyone → auth),
# corelib/outbox_relay.py (accounts, transactions → webhooks),
# services/transactions/server.py (transactions → accounts), and the gateway → all.
CALLS: Final = {
    ("gateway", "auth"),
    ("gateway", "accounts"),
    ("gateway", "transactions"),
    ("gateway", "webhooks"),
    ("accounts", "auth"),
    ("transactions", "auth"),
    ("webhooks", "auth"),
    ("transactions", "accounts"),
    ("accounts", "webhooks"),
    ("transactions", "webhooks"),
    # The edge routes /portal/ to the developer portal, which calls the API back through it.
    ("gateway", "portal"),
    ("portal", "gateway"),
}
# Sessions live in the portal's memory (portal/sessions.py): it runs as one replica.
SINGLE_REPLICA: Final = {"portal"}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: CI needs it for kustomize")
        pytest.skip("kubectl is not installed")
    completed = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=KUSTOMIZE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return [document for document in yaml.safe_load_all(completed.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def _of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def _pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    workloads = {**_of_kind(objects, "Deployment"), **_of_kind(objects, "Job")}
    return {name: item["spec"]["template"]["spec"] for name, item in workloads.items()}


def test_no_secret_is_committed(objects: list[dict[str, Any]]) -> None:
    assert _of_kind(objects, "Secret") == {}
    referenced = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for spec in _pod_specs(objects).values()
        for container in spec["containers"]
        for env in container.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert referenced == {"payment-engine-secrets"}


def test_every_process_has_its_deployment_and_entry_point(objects: list[dict[str, Any]]) -> None:
    deployments = _of_kind(objects, "Deployment")
    assert set(deployments) == {*SERVICES, "gateway", "portal"}
    (portal,) = deployments["portal"]["spec"]["template"]["spec"]["containers"]
    assert portal["args"] == ["portal.server"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert portal[probe]["httpGet"]["path"] == "/portal/readyz", probe
    assert deployments["portal"]["spec"]["replicas"] == 1
    for name in SERVICES:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [f"services.{name}.server"]
        port = DEFAULT_SERVICE_PORTS[name]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == port, (name, probe)
        # Readiness follows the database; liveness must not, or a database restart would
        # make the kubelet restart every pod for nothing.
        assert container["livenessProbe"]["grpc"]["service"] == "liveness", name
        assert "service" not in container["readinessProbe"]["grpc"], name
    (migrate,) = _of_kind(objects, "Job")["migrate"]["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["payment-engine", "migrate"]
    images = {container["image"] for spec in _pod_specs(objects).values() for container in spec["containers"]}
    assert len([image for image in images if "payment-engine" in image]) == 1, images


def test_every_container_is_bounded_and_locked_down(objects: list[dict[str, Any]]) -> None:
    for name, spec in _pod_specs(objects).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name


def test_every_deployment_autoscales_and_survives_drains(objects: list[dict[str, Any]]) -> None:
    deployments = set(_of_kind(objects, "Deployment"))
    scaled = {
        item["spec"]["scaleTargetRef"]["name"]
        for item in _of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    budgets = {
        item["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for item in _of_kind(objects, "PodDisruptionBudget").values()
    }
    assert scaled == deployments - SINGLE_REPLICA
    assert budgets == deployments - SINGLE_REPLICA


def _selected(policy: dict[str, Any]) -> set[str]:
    selector = policy["spec"]["podSelector"]
    everyone = {*SERVICES, "gateway", "portal", "migrate"}
    if not selector:
        return everyone
    if "matchLabels" in selector:
        return {selector["matchLabels"]["app.kubernetes.io/name"]}
    (expression,) = selector["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name" and expression["operator"] == "In"
    return set(expression["values"])


def _peers(rule_peers: list[dict[str, Any]]) -> set[str]:
    return {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for peer in rule_peers
        if "podSelector" in peer and "namespaceSelector" not in peer
    }


def _is_public(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network("8.8.8.0/24")) or cidr == "::/0"


def test_network_policies_allow_only_the_designed_traffic(objects: list[dict[str, Any]]) -> None:
    policies = list(_of_kind(objects, "NetworkPolicy").values())
    default_deny = [
        p
        for p in policies
        if not p["spec"]["podSelector"] and "ingress" not in p["spec"] and "egress" not in p["spec"]
    ]
    assert default_deny and set(default_deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ingress_allowed: set[tuple[str, str]] = set()
    egress_allowed: set[tuple[str, str]] = set()
    outside_ingress: set[str] = set()
    internet_egress: set[str] = set()
    for policy in policies:
        for target in _selected(policy):
            for rule in policy["spec"].get("ingress", []):
                ingress_allowed |= {(source, target) for source in _peers(rule["from"])}
                if any(_is_public(peer["ipBlock"]["cidr"]) for peer in rule["from"] if "ipBlock" in peer):
                    outside_ingress.add(target)
            for rule in policy["spec"].get("egress", []):
                egress_allowed |= {(target, destination) for destination in _peers(rule["to"])}
                if any(_is_public(peer["ipBlock"]["cidr"]) for peer in rule["to"] if "ipBlock" in peer):
                    internet_egress.add(target)
    assert outside_ingress == {"gateway"}
    assert internet_egress == {"webhooks"}
    # A call works only if the caller may send it and the callee may take it.
    assert ingress_allowed == CALLS
    assert egress_allowed == CALLS


def test_the_gateway_mounts_the_generated_envoy_config(objects: list[dict[str, Any]]) -> None:
    spec = _of_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]
    (envoy,) = spec["containers"]
    assert envoy["args"][:2] == ["--config-path", "/etc/envoy/envoy.yaml"]
    (config,) = [volume for volume in spec["volumes"] if volume["name"] == "config"]
    mounted = [source["configMap"]["name"] for source in config["projected"]["sources"]]
    config_maps = _of_kind(objects, "ConfigMap")
    files: set[str] = set()
    for name in mounted:
        files |= set(config_maps[name].get("data", {})) | set(config_maps[name].get("binaryData", {}))
    assert files == {"envoy.yaml", "descriptor_set.binpb", "openapi.json"}
