"""The deployment files, checked without a Docker engine or a cluster: the Kubernetes manifests
parse, every Deployment has resources, probes on /health and /ready, a non-root security
context and its secrets from the Secret; every command they and the Dockerfile run is a real
`sellerpay` command with real options; the Dockerfile copies files that exist."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sellerpay.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
SECRET_ENV = {"SELLERPAY_DATABASE_URL", "SELLERPAY_ENCRYPTION_KEYS"}
PROBE_WRAPPER = ["python", "-m", "sellerpay.observability", "--probe-port"]


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def of_kind(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, d) for name, d in documents() if d["kind"] == kind]


DEPLOYMENTS = of_kind("Deployment")


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def test_every_manifest_parses_and_names_its_kind() -> None:
    kinds = sorted(d["kind"] for _, d in documents())

    assert MANIFESTS, "no manifests in deploy/k8s"
    assert kinds == sorted(
        ["ConfigMap", "Secret", "Job", "Service", "Kustomization"] + ["Deployment"] * 4
    )
    assert {d["metadata"]["name"] for _, d in DEPLOYMENTS} == {
        "sellerpay-api", "sellerpay-worker", "sellerpay-beat", "sellerpay-consumer"
    }  # fmt: skip


@pytest.mark.parametrize(("file", "deployment"), DEPLOYMENTS, ids=[n for n, _ in DEPLOYMENTS])
def test_every_deployment_is_bounded_probed_non_root_and_reads_its_secrets_from_the_secret(
    file: str, deployment: dict[str, Any]
) -> None:
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile_user() != 0
    for container in containers(deployment):
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(
            resources["limits"]
        ), file
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (file, probe)
            assert get["port"] in ports or get["port"] in ports.values(), (file, probe)
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        from_secret = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert set(from_secret) >= SECRET_ENV, file
        for name, ref in from_secret.items():
            assert ref["name"] == "sellerpay-secrets" and ref["key"] in secret_keys(), name
        assert not any(e["name"] in SECRET_ENV and "value" in e for e in container.get("env", []))
        assert not container["image"].endswith(":latest")


def test_the_api_service_reaches_the_api_pods_on_their_http_port() -> None:
    ((_, service),) = of_kind("Service")
    ((_, api),) = [(n, d) for n, d in DEPLOYMENTS if d["metadata"]["name"] == "sellerpay-api"]
    labels = api["spec"]["template"]["metadata"]["labels"]

    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in containers(api)[0]["ports"]}


def test_the_config_map_holds_only_settings_sellerpay_knows_with_valid_values() -> None:
    ((_, config),) = of_kind("ConfigMap")
    values = {key.removeprefix("SELLERPAY_").lower(): v for key, v in config["data"].items()}

    assert all(key.startswith("SELLERPAY_") for key in config["data"])
    assert set(values) <= set(Settings.model_fields)
    settings = Settings.model_validate(values)  # types and bounds, as the processes read them
    assert settings.deployment_mode == "distributed" and settings.log_json is True
    assert not set(values) & {"database_url", "encryption_keys", "amqp_url"}  # secrets: Secret


def test_kustomize_applies_every_manifest_but_the_secret_example() -> None:
    ((_, kustomization),) = of_kind("Kustomization")

    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"kustomization.yaml", "secret.example.yaml"}


# --- commands --------------------------------------------------------------------------------


def sellerpay_args(command: list[str], ports: dict[str, int]) -> list[str]:
    """The `sellerpay` arguments a container runs, directly or through the probe wrapper."""
    if command[: len(PROBE_WRAPPER)] == PROBE_WRAPPER:
        port, separator, *rest = command[len(PROBE_WRAPPER) :]
        assert separator == "--" and int(port) in ports.values()
        return rest
    assert command[0] == "sellerpay", command
    return command[1:]


def assert_is_a_sellerpay_command(args: list[str]) -> None:
    """Unknown commands and options fail to parse (exit 2) even with --help."""
    from sellerpay.cli.main import app

    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)


def every_command() -> list[tuple[str, list[str], dict[str, int]]]:
    found = []
    for file, document in documents():
        if document["kind"] in ("Deployment", "Job"):
            for container in containers(document):
                ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
                found.append((file, container["command"], ports))
    return found


@pytest.mark.parametrize(("file", "command", "ports"), every_command())
def test_every_container_runs_a_real_sellerpay_command(
    file: str, command: list[str], ports: dict[str, int]
) -> None:
    assert_is_a_sellerpay_command(sellerpay_args(command, ports))


# --- the Dockerfile --------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_user() -> int:
    users = [value for kind, value in instructions() if kind == "USER"]
    return int(users[-1].split(":")[0])


def test_the_dockerfile_builds_from_python_3_11_slim_with_the_constraints_as_non_root() -> None:
    steps = instructions()

    assert [v for k, v in steps if k == "FROM"][-1] == "python:3.11-slim"
    assert any(k == "RUN" and "--constraint constraints.txt" in v for k, v in steps)
    assert dockerfile_user() >= 10000  # the last USER: the image runs as nobody we know


def test_the_dockerfile_copies_files_that_exist_and_runs_a_real_command() -> None:
    for kind, value in instructions():
        if kind == "COPY" and not value.startswith("--from="):
            *sources, _destination = shlex.split(value)
            for source in sources:
                assert (ROOT / source).exists(), source
    (cmd,) = [json.loads(v) for k, v in instructions() if k == "CMD"]
    assert_is_a_sellerpay_command(sellerpay_args(cmd, {}))


def secret_keys() -> set[str]:
    ((_, secret),) = of_kind("Secret")
    return set(secret["stringData"])
