"""Redis behind Sentinel on Kubernetes (deploy/k8s/components/redis-sentinel, rendered through
overlays/province-sentinel): three servers with a sentinel each, every Redis URL a redis+sentinel:// URL naming the
three sentinels, and the password only ever from the Secret. tests/integration/test_k8s_sentinel_scripts.py runs the
start scripts themselves."""

from __future__ import annotations

import re
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest

from common.redis import parse_sentinel_url
from tests.tools.test_k8s import render, workloads

TARGET = "overlays/province-sentinel"
URL_VARS = ("REDIS_URL", "TRACKER_STORE_URL", "LOCK_STORE_URL")
SENTINELS = tuple((f"redis-{i}.redis-headless", 26379) for i in range(3))
SERVICE = "tro-ly"
PASSWORD_REF = "$(REDIS_PASSWORD)"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render(TARGET)


def containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, c) for name, w in workloads(docs).items() for c in w["spec"]["template"]["spec"]["containers"]]


def redis_urls(docs: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(workload, variable) → the Redis URL it is given."""
    return {(name, var["name"]): str(var.get("value", "")) for name, c in containers(docs)
            for var in c.get("env") or [] if var["name"] in URL_VARS}


def scripts(docs: list[dict[str, Any]]) -> dict[str, str]:
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("redis-sentinel-scripts")]
    assert len(maps) == 1, "one ConfigMap redis-sentinel-scripts-<hash>"
    return dict(maps[0]["data"])


def test_redis_runs_three_servers_each_with_a_sentinel(docs: list[dict[str, Any]]) -> None:
    redis = workloads(docs)["redis"]
    spec = redis["spec"]
    assert (redis["kind"], spec["replicas"], spec["serviceName"]) == ("StatefulSet", 3, "redis-headless")
    assert spec["volumeClaimTemplates"], "each server keeps its data on a volume"
    pod = spec["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    images = {c["name"]: c["image"] for c in pod["containers"]}
    base_image = workloads(render("base"))["redis"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert images == {"redis": base_image, "sentinel": base_image}
    assert {c["name"]: c["command"] for c in pod["containers"]} == {
        "redis": ["sh", "/scripts/redis.sh"], "sentinel": ["sh", "/scripts/sentinel.sh"]}
    (config_map,) = [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "scripts"]
    assert config_map.startswith("redis-sentinel-scripts-")  # the generated name, with the scripts' hash
    for container in pod["containers"]:
        assert {"name": "scripts", "mountPath": "/scripts"} in container["volumeMounts"]

    services = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Service"}
    assert "redis" not in services, "the single-Redis Service would reach replicas too"
    headless = services["redis-headless"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    assert headless["selector"] == services["redis-sentinel"]["selector"] == {"app": "redis"}
    assert [p["port"] for p in services["redis-sentinel"]["ports"]] == [26379]


def test_every_container_has_probes_and_resources(docs: list[dict[str, Any]]) -> None:
    for name, container in containers(docs):
        where = f"{name}/{container['name']}"
        assert container.get("readinessProbe") and container.get("livenessProbe"), f"{where}: probes"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set((container.get("resources") or {}).get(kind) or {}), f"{where}: {kind}"


def test_redis_keeps_a_disruption_budget(docs: list[dict[str, Any]]) -> None:
    budgets = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert budgets["redis"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "redis"}}}


def test_every_redis_url_names_the_three_sentinels(docs: list[dict[str, Any]]) -> None:
    urls = redis_urls(docs)
    plain = redis_urls(render("overlays/province"))
    assert set(urls) == set(plain), "the same processes get a Redis URL as without Sentinel"
    for (name, var), url in urls.items():
        assert url.startswith("redis+sentinel://"), f"{name}: {var} is {url}"
        target = parse_sentinel_url(url)
        assert (target.sentinels, target.service) == (SENTINELS, SERVICE), f"{name}: {var}"
        assert (target.password, target.sentinel_password) == (PASSWORD_REF, PASSWORD_REF), f"{name}: {var}"
        assert target.db == int(urlsplit(plain[name, var]).path.strip("/") or 0), f"{name}: {var} changed database"
    assert not [v for v in urls.values() if "redis://" in v]


def test_the_password_comes_only_from_the_secret(docs: list[dict[str, Any]]) -> None:
    assert not [d for d in docs if d["kind"] == "Secret"]
    for name, container in containers(docs):
        env = container.get("env") or []
        for i, var in enumerate(env):
            value = str(var.get("value", ""))
            if var["name"] in ("REDIS_PASSWORD", "REDISCLI_AUTH"):
                assert var["valueFrom"]["secretKeyRef"] == {"name": "tro-ly-secrets", "key": "REDIS_PASSWORD"}
            if PASSWORD_REF in value:  # Kubernetes expands $(VAR) only from variables listed before it
                assert "REDIS_PASSWORD" in {v["name"] for v in env[:i]}, f"{name}: {var['name']}"
            for secret in re.findall(r"://:([^@]*)@|sentinel_password=([^&]*)", value):
                assert set(filter(None, secret)) == {PASSWORD_REF}, f"{name}: a password written in {var['name']}"
        assert not [a for a in container.get("command", []) + container.get("args", []) if PASSWORD_REF in a], name
    # the scripts put it only into config files, created unreadable to others
    for file, text in scripts(docs).items():
        for line in text.splitlines():
            if re.search(r"requirepass|masterauth|auth-pass|sentinel-pass|REDISCLI_AUTH=", line):
                assert "$REDIS_PASSWORD" in line, f"{file}: {line}"
        if file != "common.sh":
            assert text.index("umask 077") < text.index('> "$CONF_DIR/'), file


def test_the_scripts_default_to_the_kubernetes_names(docs: list[dict[str, Any]]) -> None:
    found = scripts(docs)
    assert set(found) == {"common.sh", "redis.sh", "sentinel.sh"}
    for file, text in found.items():
        done = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, f"{file}: {done.stderr}"
    common = found["common.sh"]
    for default in ('MASTER_NAME="${MASTER_NAME:-tro-ly}"', 'MASTER_HOST="${MASTER_HOST:-redis-0.redis-headless}"',
                    'SENTINEL_HOST="${SENTINEL_HOST:-redis-sentinel}"', 'SENTINEL_PORT="${SENTINEL_PORT:-26379}"',
                    'REDIS_PORT="${REDIS_PORT:-6379}"', 'ANNOUNCE_HOST="${ANNOUNCE_HOST:-$HOSTNAME.redis-headless}"'):
        assert default in common
    assert "SENTINEL get-master-addr-by-name" in common
    assert 'QUORUM="${QUORUM:-2}"' in found["sentinel.sh"]
    for setting in ("appendonly yes", "appendfsync everysec", "replica-announce-ip"):
        assert setting in found["redis.sh"]
    for setting in ("sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"):
        assert setting in found["sentinel.sh"]


def test_everything_is_in_the_province_namespace(docs: list[dict[str, Any]]) -> None:
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"tro-ly"}
