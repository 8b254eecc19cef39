"""The Kubernetes manifests: valid against the Kubernetes API schemas (kubernetes-validate, which
ships them, so it works offline), and a structural check of what the issue asks for: replicas,
probes, resources within 512 MiB, the autoscaler, Services that select their pods, and Secrets
referenced, never embedded."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import ROOT

K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest minor still supported by the main cloud providers
SECRET_NAME = "credit-scoring-secrets"
SENSITIVE = re.compile(r"KEY|PASSWORD|TOKEN|SECRET|DATABASE_URL|BACKEND_STORE_URI", re.IGNORECASE)


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        (K8S / name, document)
        for name in kustomization["resources"]
        for document in yaml.safe_load_all((K8S / name).read_text())
        if document
    ]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def _memory_mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


@pytest.mark.skipif(
    importlib.util.find_spec("kubernetes_validate") is None,
    reason="kubernetes-validate not installed (pip install kubernetes-validate): schema check skipped",
)
def test_manifests_are_valid_kubernetes_objects() -> None:
    import kubernetes_validate

    for path, document in manifests():
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} {document['kind']}/{document['metadata']['name']}: {exc.message}")
    broken = {**by_kind("Service")["credit-scoring-api"], "spec": {"selectr": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_maps_the_images() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    images = {image["name"] for image in kustomization["images"]}
    used = {
        container["image"]
        for deployment in by_kind("Deployment").values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
    }
    assert used == images == {"credit-scoring-api", "credit-scoring-app", "credit-scoring-mlflow"}


def test_api_deployment_replicas_probes_and_resources() -> None:
    deployment = by_kind("Deployment")["credit-scoring-api"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] != "/health", "a replica without a model is alive"
    resources = container["resources"]
    assert _memory_mib(resources["limits"]["memory"]) <= 512
    assert _memory_mib(resources["requests"]["memory"]) <= _memory_mib(resources["limits"]["memory"])
    assert resources["requests"]["cpu"], "the HPA's CPU utilisation is relative to the request"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_hpa_scales_the_api_on_cpu_between_2_and_10() -> None:
    hpa = by_kind("HorizontalPodAutoscaler")["credit-scoring-api"]
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "credit-scoring-api",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_every_deployment_has_probes_limits_and_a_service_selecting_it() -> None:
    services = by_kind("Service")
    assert set(by_kind("Deployment")) == {
        "credit-scoring-api",
        "credit-scoring-console",
        "credit-scoring-mlflow",
    }
    for name, deployment in by_kind("Deployment").items():
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["spec"]["containers"]:
            assert {"readinessProbe", "livenessProbe"} <= set(container), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            ports = {port["name"] for port in container["ports"]}
            service = services[name]
            assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), name
            assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports, name


def _env_entries() -> list[tuple[str, dict[str, Any]]]:
    return [
        (deployment["metadata"]["name"], entry)
        for deployment in by_kind("Deployment").values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for entry in container.get("env", [])
    ]


def test_secrets_are_referenced_never_embedded() -> None:
    kinds = {doc["kind"] for _, doc in manifests()}
    assert "Secret" not in kinds, "create the Secret out of band; no secret value belongs in git"
    referenced = set()
    for deployment, entry in _env_entries():
        if SENSITIVE.search(entry["name"]):
            assert "value" not in entry, f"{deployment}: {entry['name']} must come from the Secret"
            assert entry["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME, entry
            referenced.add(entry["valueFrom"]["secretKeyRef"]["key"])
    assert referenced == {
        "DATABASE_URL",
        "API_KEYS",
        "ADMIN_API_KEYS",
        "JWT_SECRET",
        "MLFLOW_BACKEND_STORE_URI",
    }
    for name, config in by_kind("ConfigMap").items():
        assert not any(SENSITIVE.search(key) for key in config["data"]), name
    instructions = (K8S / "kustomization.yaml").read_text()
    assert all(f"--from-literal={key}=" in instructions for key in referenced)


def test_config_maps_and_volume_claims_referenced_exist() -> None:
    config_maps, claims = set(by_kind("ConfigMap")), set(by_kind("PersistentVolumeClaim"))
    for deployment in by_kind("Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for entry in container.get("env", []):
                if "configMapKeyRef" in entry.get("valueFrom", {}):
                    ref = entry["valueFrom"]["configMapKeyRef"]
                    assert ref["key"] in by_kind("ConfigMap")[ref["name"]]["data"]
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
