"""The Kubernetes manifests (deploy/k8s, Kustomize): each overlay renders with kustomize, every
object is valid against the Kubernetes JSON schemas in strict mode (kubernetes-validate, offline),
and the manifests keep the platform's rules: every service has an API and a worker Deployment and a
migrate Job running the commands the tests run, probes on /healthz and /readyz on the ports of the
README, resource requests and limits, non-root read-only containers, settings from ConfigMaps, the
database URL only in a Secret, and pods annotated for Prometheus."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.service_commands import SERVICE_COMMANDS

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZE = REPO / ".cache" / "bin" / "kustomize"
KUBERNETES_VERSION = "1.33.0"
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
# README "Ports": (API, worker) per service.
PORTS = {
    "aging": (8001, 9101),
    "contact": (8002, 9102),
    "escalation": (8003, 9103),
    "agency-gateway": (8004, 9104),
}
SECRET_LOOKING = re.compile(r"://[^/@\s]+:[^/@\s]+@|password|secret|token", re.I)


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    assert KUSTOMIZE.is_file(), "kustomize is missing: scripts/bootstrap.sh builds it"
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in rendered(overlay) if obj["kind"] == kind}


def pod_templates(overlay: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Deployment", "Job"):
        for name, obj in objects(overlay, kind).items():
            yield f"{kind}/{name}", obj["spec"]["template"]


def containers(overlay: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, template in pod_templates(overlay):
        for container in template["spec"]["containers"]:
            yield where, container


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_there_is_a_local_and_a_production_overlay() -> None:
    assert OVERLAYS == ["local", "production"]


class TestSchema:
    def test_every_object_is_valid_against_the_kubernetes_schema_in_strict_mode(self, overlay: str) -> None:
        for obj in rendered(overlay):
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")

    def test_the_validator_rejects_an_unknown_field(self) -> None:
        deployment = next(iter(objects("local", "Deployment").values()))
        broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


class TestWorkloads:
    def test_every_service_has_an_api_and_a_worker_deployment_and_a_migrate_job(self, overlay: str) -> None:
        deployments, jobs = objects(overlay, "Deployment"), objects(overlay, "Job")
        for service, argvs in SERVICE_COMMANDS.items():
            for role in ("api", "worker", "migrate"):
                workload = (jobs if role == "migrate" else deployments)[f"{service}-{role}"]
                [container] = workload["spec"]["template"]["spec"]["containers"]
                assert container["command"] in argvs and container["command"][1] == role, container["command"]
        assert len(deployments) == 2 * len(SERVICE_COMMANDS) and len(jobs) == len(SERVICE_COMMANDS)

    def test_probes_check_healthz_and_readyz_on_the_readme_ports(self, overlay: str) -> None:
        for service, (api_port, worker_port) in PORTS.items():
            for role, port in (("api", api_port), ("worker", worker_port)):
                deployment = objects(overlay, "Deployment")[f"{service}-{role}"]
                [container] = deployment["spec"]["template"]["spec"]["containers"]
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = container[probe]["httpGet"]
                    assert get["path"] == path, (service, role, probe)
                    assert ports.get(get["port"], get["port"]) == port, (service, role, probe)
                config = objects(overlay, "ConfigMap")[f"{service}-config"]["data"]
                assert config["HTTP_PORT" if role == "api" else "WORKER_PORT"] == str(port)
                annotations = deployment["spec"]["template"]["metadata"]["annotations"]
                assert annotations["prometheus.io/scrape"] == "true"
                assert annotations["prometheus.io/port"] == str(port)
                [svc_port] = objects(overlay, "Service")[f"{service}-{role}"]["spec"]["ports"]
                assert svc_port["port"] == port

    def test_every_container_has_resource_requests_and_limits(self, overlay: str) -> None:
        for where, container in containers(overlay):
            for kind in ("requests", "limits"):
                assert set(container["resources"].get(kind, {})) == {"cpu", "memory"}, f"{where}: {kind}"

    def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem(self, overlay: str) -> None:
        for where, template in pod_templates(overlay):
            assert template["spec"]["securityContext"]["runAsNonRoot"] is True, where
            for container in template["spec"]["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["capabilities"]["drop"] == ["ALL"], where


class TestSettings:
    def test_settings_come_from_config_maps_and_the_database_url_from_a_secret(self, overlay: str) -> None:
        for where, container in containers(overlay):
            assert [source["configMapRef"]["name"] for source in container["envFrom"]], where
            [database_url] = [var for var in container["env"] if var["name"] == "DATABASE_URL"]
            assert "secretKeyRef" in database_url["valueFrom"], f"{where}: DATABASE_URL not from a Secret"
            assert all("value" not in var for var in container["env"]), f"{where}: a literal in env"

    def test_no_config_map_holds_a_secret(self, overlay: str) -> None:
        for name, config_map in objects(overlay, "ConfigMap").items():
            assert "DATABASE_URL" not in config_map.get("data", {}), name
            for key, value in config_map.get("data", {}).items():
                assert not SECRET_LOOKING.search(f"{key}={value}"), f"{name}: {key} looks like a secret"

    def test_the_local_overlay_provides_every_config_map_and_secret_a_pod_refers_to(self) -> None:
        config_maps, secrets = objects("local", "ConfigMap"), objects("local", "Secret")
        for where, container in containers("local"):
            for source in container["envFrom"]:
                assert source["configMapRef"]["name"] in config_maps, where
            for var in container["env"]:
                assert var["valueFrom"]["secretKeyRef"]["name"] in secrets, where

    def test_production_commits_no_secret(self) -> None:
        assert objects("production", "Secret") == {}, "production Secrets come from the secret manager"
        referred = {
            var["valueFrom"]["secretKeyRef"]["name"]
            for _, container in containers("production")
            for var in container["env"]
        }
        assert referred == {f"{service}-database" for service in SERVICE_COMMANDS}


class TestPrometheusScrape:
    def test_the_scrape_jobs_match_the_alert_rules_and_label_service_and_process(self) -> None:
        config = yaml.safe_load((K8S / "prometheus-scrape.yml").read_text())
        assert config["rule_files"] == ["rules/*.yml"]
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        assert set(jobs) == {"collections-api", "collections-worker"}, (
            "CollectionsServiceDown matches collections-.*"
        )
        for name, job in jobs.items():
            relabel = job["relabel_configs"]
            targets = {step.get("target_label") for step in relabel}
            assert {"service", "process", "__address__", "__metrics_path__"} <= targets, name
            [component] = [
                step["regex"]
                for step in relabel
                if step.get("source_labels") == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
                and step.get("action") == "keep"
            ]
            assert component == name.removeprefix("collections-")
