"""docker-compose.yml as Debian's docker-compose reads it: a commune on one channel needs only that channel's secrets,
images are pinned, and no secret is written on a command line. (`config` needs no Docker engine.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORE = {"REDIS_PASSWORD": "pw-7f3a9c", "FEEDBACK_ID_KEY": "fk-0c4d2e", "DASHBOARD_SECRET_KEY": "dk-91b8aa"}
PROFILES = {"web": "web", "zalo-oa": "zalo-oa", "zalo-bot": "zalo-bot", "telegram": "telegram"}
CORE_SERVICES = {"redis", "actions", "rasa", "dashboard"}


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("Debian's docker-compose is needed (apt-get install docker-compose; .ci/run installs it)")
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **(CORE if env is None else env)}
    return subprocess.run([tool, "-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(ROOT), *args],
                          env=clean, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    done = compose("config")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_each_profile_needs_only_the_stacks_own_secrets(profile: str | None) -> None:
    done = compose(*(["--profile", profile] if profile else []), "config", "--quiet")
    assert done.returncode == 0, done.stderr  # no Telegram secret for a Zalo OA commune, and so on


@pytest.mark.parametrize("missing", sorted(CORE))
def test_the_stack_refuses_to_start_without_its_own_secrets(missing: str) -> None:
    done = compose("config", "--quiet", env={k: v for k, v in CORE.items() if k != missing})
    assert done.returncode != 0 and f"{missing} not set" in done.stderr


def test_channel_gateways_are_profiles_and_the_core_always_runs(config: dict[str, Any]) -> None:
    services = config["services"]
    assert {name for name, s in services.items() if not s.get("profiles")} == CORE_SERVICES
    assert {name: s["profiles"] for name, s in services.items() if s.get("profiles")} == {
        name: [profile] for name, profile in PROFILES.items()}


def test_images_are_pinned(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert any(ch.isdigit() for ch in tag) and tag.count(".") >= 2, f"{name}: {image} floats (pin x.y.z)"


def test_no_secret_is_written_on_a_command_line(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for field in ("command", "entrypoint"):
            value = service.get(field) or ""
            text = " ".join(value) if isinstance(value, list) else str(value)
            assert not any(secret in text for secret in CORE.values()), f"{name}: a secret in its {field}"
            assert "--requirepass" not in text, f"{name}: the Redis password goes in a config file"
        test = " ".join((service.get("healthcheck") or {}).get("test") or [])
        assert not any(secret in test for secret in CORE.values()), f"{name}: a secret in its healthcheck"
