"""The deployment files in deploy/, checked as far as a machine without a container
runtime can: they parse, every variable they give Ops Desk is a real setting whose value
reads, every command they run is one the CLI has, and the probes name real routes. Running
them needs Docker or Kubernetes (docs/operations.md says so)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.routing import iter_route_contexts

from opsdesk.app import create_app
from opsdesk.cli import app as cli
from opsdesk.settings import Settings

DEPLOY = Path(__file__).parents[1] / "deploy"
# Temporal's own client variables (its environment configuration), which Ops Desk reads.
TEMPORAL_VARIABLES = {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"}


def commands() -> set[str]:
    return {c.name or c.callback.__name__ for c in cli.registered_commands if c.callback}


SECRET = {
    "OPSDESK_PAYLOAD_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "OPSDESK_SESSION_SECRET": "a-session-secret-of-at-least-32-chars",
    "OPSDESK_LINK_SECRET": "a-link-secret-of-at-least-32-chars",
}
"""What the Kubernetes files' Secret holds (its keys are in the manifest's header)."""

IMAGE = {"OPSDESK_BUILD_ID": "3f2a9c1"}
"""What the image bakes in (deploy/Dockerfile's build argument)."""


def check_environment(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variable is Ops Desk's or Temporal's, and Ops Desk's settings read them all."""
    for name in env:
        if name.startswith("OPSDESK_"):
            assert name.removeprefix("OPSDESK_").lower() in Settings.model_fields, name
        else:
            assert name in TEMPORAL_VARIABLES, name
    for name in list(os.environ):
        if name.startswith(("OPSDESK_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    Settings()  # raises on a value that does not read


def opsdesk_command(argv: list[str]) -> list[str]:
    """The ``opsdesk`` subcommands a container's command runs."""
    return re.findall(r"opsdesk ([a-z-]+)", " ".join(argv))


def test_the_image_builds_in_stages_and_runs_the_cli_without_privileges() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2
    assert "uv sync --locked" in dockerfile
    [user] = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["opsdesk"\]', dockerfile, re.MULTILINE)
    [default] = re.findall(r'^CMD \["([a-z-]+)"\]', dockerfile, re.MULTILINE)
    assert default in commands()
    for line in re.findall(r"^ENV (.+?)(?<!\\)$", dockerfile, re.MULTILINE | re.DOTALL):
        for name in re.findall(r"(OPSDESK_\w+)=", line):
            assert name.removeprefix("OPSDESK_").lower() in Settings.model_fields, name


def test_the_compose_file_runs_two_workers_and_two_apis_on_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert {"postgresql", "temporal", "temporal-ui", "migrate"} <= set(services)
    ours = {name: s for name, s in services.items() if s.get("image") == "opsdesk:local"}
    workers = [s for s in ours.values() if s.get("command") == ["worker"]]
    apis = [s for s in ours.values() if s.get("command") == ["api"]]
    assert (len(workers), len(apis)) == (2, 2)
    assert "postgres" in services["temporal"]["environment"]["DB"]
    for service in ours.values():
        env = {k: str(v) for k, v in service["environment"].items()}
        assert env["OPSDESK_DATABASE_URL"].startswith("postgresql+asyncpg://")
        check_environment(env, monkeypatch)
        for name in opsdesk_command(service.get("entrypoint", [])) or service["command"]:
            assert name in commands(), name
    assert "/readyz" in " ".join(apis[0]["healthcheck"]["test"])


def test_the_kubernetes_manifests_probe_real_routes_with_real_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "opsdesk.yaml").read_text()))
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    config = by_name["ConfigMap", "opsdesk-config"]["data"]
    routes = {
        getattr(route, "path", "")
        for route in iter_route_contexts(create_app(Settings(data_dir=tmp_path)).routes)
    }
    for name in ("opsdesk-api", "opsdesk-worker-3f2a9c1"):
        deployment = by_name["Deployment", name]
        assert deployment["spec"]["replicas"] >= 2
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert set(container["args"]) <= commands()
        assert container["resources"]["requests"]
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
        env = {**config, **{e["name"]: e["value"] for e in container.get("env", [])}}
        assert env["OPSDESK_ENVIRONMENT"] == "production"
        with pytest.raises(ValueError, match="OPSDESK_LINK_SECRET, OPSDESK_SESSION_SECRET"):
            check_environment(env, monkeypatch)  # without the Secret: refuses to start
        # An image built without its build id refuses too; one built with it starts.
        with pytest.raises(ValueError, match="needs OPSDESK_BUILD_ID"):
            check_environment({**env, **SECRET, "OPSDESK_BUILD_ID": ""}, monkeypatch)
        check_environment({**env, **SECRET, **IMAGE}, monkeypatch)
    # The workers are one build's: its id names them, selects their pods and tags the image.
    workers = by_name["Deployment", "opsdesk-worker-3f2a9c1"]["spec"]
    assert workers["selector"]["matchLabels"]["build"] == "3f2a9c1"
    assert workers["template"]["spec"]["containers"][0]["image"].endswith(":3f2a9c1")
    [api] = by_name["Deployment", "opsdesk-api"]["spec"]["template"]["spec"]["containers"]
    probes = {api["livenessProbe"]["httpGet"]["path"], api["readinessProbe"]["httpGet"]["path"]}
    assert probes == {"/healthz", "/readyz"}
    assert probes <= routes
    assert by_name["Service", "opsdesk-api"]["spec"]["selector"]["role"] == "api"
    [job] = by_name["Job", "opsdesk-migrate"]["spec"]["template"]["spec"]["containers"]
    assert set(opsdesk_command(job["command"])) == {"migrate", "setup-temporal"} <= commands()
