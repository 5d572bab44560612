"""The settings base every process uses: one clear line per bad variable, and entry points that exit instead of
printing a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.settings import MEMORY, ProcessSettings, RedisOrMemoryURL, RedisURL, Secret, SettingsError, load

ROOT = Path(__file__).resolve().parents[2]


class Example(ProcessSettings):
    redis_url: RedisURL
    token: Secret
    verbose: bool = False
    port: int = 8080


class Demo(ProcessSettings):
    redis_url: RedisOrMemoryURL


def test_good_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", " redis://127.0.0.1:6379/0 ")
    monkeypatch.setenv("TOKEN", "123:TEST")
    monkeypatch.setenv("VERBOSE", "yes")
    monkeypatch.setenv("PORT", "")  # empty means unset: the default
    settings = load(Example)
    assert (settings.redis_url, settings.token, settings.verbose, settings.port) == (
        "redis://127.0.0.1:6379/0", "123:TEST", True, 8080)


def test_every_bad_variable_is_named_once_and_secrets_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TOKEN", "fake-token-change-me")
    monkeypatch.setenv("VERBOSE", "ture")
    with pytest.raises(SettingsError) as caught:
        load(Example)
    message = str(caught.value)
    assert message.startswith("REDIS_URL: is not set")
    assert "TOKEN: is not set, or still the placeholder" in message
    assert "VERBOSE: Input should be a valid boolean" in message
    assert "fake-token-change-me" not in message and "ture" not in message


@pytest.mark.parametrize(("value", "ok"), [(MEMORY, True), ("redis://x:6379/0", True), ("unix:///tmp/r.sock", True),
                                           ("memory", False), ("http://x", False)])
def test_only_the_demo_settings_accept_memory(monkeypatch: pytest.MonkeyPatch, value: str, ok: bool) -> None:
    monkeypatch.setenv("REDIS_URL", value)
    if ok:
        assert load(Demo).redis_url == value
    else:
        with pytest.raises(SettingsError, match="REDIS_URL: must start with"):
            load(Demo)
    monkeypatch.setenv("TOKEN", "123:TEST")
    if value == MEMORY:
        with pytest.raises(SettingsError, match="REDIS_URL: must start with"):
            load(Example)


@pytest.mark.parametrize(
    ("module", "env", "expected"),
    [
        ("bot.web", {"REDIS_URL": ""}, "Web chat gateway: cannot start, bad settings: REDIS_URL: is not set"),
        ("bot.web", {"WEB_TRUST_FORWARDED": "ture"}, "WEB_TRUST_FORWARDED: Input should be a valid boolean"),
        ("bot.zalo.oa", {"ZALO_OA_APP_ID": ""}, "Zalo OA gateway: cannot start, bad settings: ZALO_OA_APP_ID"),
        ("actions.server", {"REDIS_URL": ""}, "Action server: cannot start, bad settings: REDIS_URL: is not set"),
        ("actions.server", {"REDIS_URL": "redis://127.0.0.1:6379/0", "FEEDBACK_ID_KEY": "x-change-me"},
         "Action server: cannot start, bad settings: FEEDBACK_ID_KEY: is not set, or still the placeholder"),
        ("dashboard", {"DASHBOARD_PORT": "tám"}, "Dashboard: cannot start, bad settings: DASHBOARD_PORT: Input should be"),
    ],
)
def test_entry_points_exit_with_one_clear_line(module: str, env: dict[str, str], expected: str) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "FEEDBACK", "WEB_", "ZALO", "DASHBOARD"))}
    base.update({"PYTHONPATH": str(ROOT), "REDIS_URL": "redis://127.0.0.1:6399/0", "EMBEDDING_BACKEND": "none",
                 "FEEDBACK_ID_KEY": "test-pseudonym-key-0123456789abcdef", **env})
    args = [sys.executable, "-m", module] + (["serve"] if module == "dashboard" else [])
    done = subprocess.run(args, env=base, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
