"""The Kubernetes manifests (deploy/k8s), rendered by `kubectl kustomize` as CI renders them: every container has
probes and resources, secrets come only from the Secret object, Rasa and the action server autoscale and keep a
disruption budget, and every variable a process needs is set, with no name the process does not read."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from actions.settings import Settings as ActionSettings
from bot.settings import CommonSettings, TelegramSettings, ZaloBotSettings, ZaloOASettings
from bot.web.settings import WebSettings
from dashboard.settings import DashboardSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SECRETS = {"REDIS_PASSWORD", "FEEDBACK_ID_KEY", "DASHBOARD_SECRET_KEY", "ZALO_OA_APP_ID", "ZALO_APP_SECRET",
           "ZALO_OA_SECRET_KEY", "ZALO_OA_ACCESS_TOKEN", "ZALO_OA_REFRESH_TOKEN", "ZALO_BOT_TOKEN",
           "ZALO_BOT_WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"}
# which settings each container's process reads, and what it needs beyond its required fields
PROCESSES: dict[str, tuple[tuple[type[BaseSettings], ...], set[str]]] = {
    "actions": ((ActionSettings,), {"REDIS_URL", "FEEDBACK_ID_KEY"}),
    "web": ((CommonSettings, WebSettings), set()),
    "zalo-oa": ((CommonSettings, ZaloOASettings), set()),
    "zalo-bot": ((CommonSettings, ZaloBotSettings), {"ZALO_BOT_WEBHOOK_SECRET", "ZALO_BOT_WEBHOOK_URL"}),
    "telegram": ((CommonSettings, TelegramSettings), {"TELEGRAM_WEBHOOK_SECRET"}),
    "dashboard": ((DashboardSettings,), {"REDIS_URL", "DASHBOARD_SECRET_KEY"}),
}
ALSO_SET = {"REDIS_PASSWORD"}  # set only to build REDIS_URL ($(REDIS_PASSWORD)), and HOSTNAME names the replica


def render(target: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render the manifests (Debian's kubernetes-client; .ci/run installs it)")
    done = subprocess.run([kubectl, "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/province", "overlays/province-sentinel"])
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")}


def env_names(settings: type[BaseSettings]) -> dict[str, bool]:
    """Variable → required, for one settings class."""
    names = {}
    for name, field in settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else name
        names[alias.upper()] = field.is_required()
    return names


def test_every_container_has_probes_and_resources(docs: list[dict[str, Any]]) -> None:
    for name, workload in workloads(docs).items():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert container.get("readinessProbe") and container.get("livenessProbe"), f"{name}: probes"
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{name}: resources.{kind}"
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: {image} is not pinned"


def test_no_secret_is_written_in_the_manifests(docs: list[dict[str, Any]]) -> None:
    assert not [d for d in docs if d["kind"] == "Secret"], "create tro-ly-secrets outside the repository"
    for name, workload in workloads(docs).items():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env") or []:
                if var["name"] in SECRETS:
                    assert "value" not in var, f"{name}: {var['name']} written in the manifest"
                    assert var["valueFrom"]["secretKeyRef"]["name"] == "tro-ly-secrets", f"{name}: {var['name']}"
                value = str(var.get("value", ""))
                assert not re.search(r"redis(\+sentinel)?://:[^$@]+@|sentinel_password=[^$]", value), \
                    f"{name}: a password inside {var['name']}"


def test_rasa_and_the_action_server_autoscale_and_keep_a_budget(docs: list[dict[str, Any]]) -> None:
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    budgets = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    for name in ("rasa", "actions"):
        assert hpas[name]["spec"]["minReplicas"] >= 2 and budgets >= {name}
    redis = workloads(docs)["redis"]
    assert redis["kind"] == "StatefulSet" and redis["spec"]["volumeClaimTemplates"], "Redis keeps its data"


def test_every_variable_a_process_needs_is_set_and_every_set_one_is_read(docs: list[dict[str, Any]]) -> None:
    found = workloads(docs)
    for name, (classes, needed) in PROCESSES.items():
        container = found[name]["spec"]["template"]["spec"]["containers"][0]
        given = {var["name"] for var in container.get("env") or []}
        known: dict[str, bool] = {}
        for settings in classes:
            known.update(env_names(settings))
        required = {var for var, is_required in known.items() if is_required and var != "COMMON"} | needed
        assert required <= given, f"{name}: missing {sorted(required - given)}"
        unknown = given - set(known) - ALSO_SET - {"HOSTNAME"}
        assert not unknown, f"{name}: sets {sorted(unknown)}, which its process does not read (a typo?)"


def test_rasa_gets_every_variable_its_endpoints_name(docs: list[dict[str, Any]]) -> None:
    lines = [line.split("#", 1)[0] for line in (ROOT / "endpoints.yml").read_text(encoding="utf-8").splitlines()]
    wanted = set(re.findall(r"\$\{(\w+)\}", "\n".join(lines)))
    container = workloads(docs)["rasa"]["spec"]["template"]["spec"]["containers"][0]
    assert wanted <= {var["name"] for var in container["env"]}


def test_the_province_overlay_runs_more_of_rasa_in_its_namespace() -> None:
    docs = render("overlays/province")
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"tro-ly"}
    assert workloads(docs)["rasa"]["spec"]["replicas"] == 3
    assert all("registry.example.gov.vn" in c["image"] for w in workloads(docs).values() if w["metadata"]["name"] != "redis"
               for c in w["spec"]["template"]["spec"]["containers"])
