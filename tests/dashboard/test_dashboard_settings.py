"""Dashboard settings: defaults, the session secret (generated locally, required in production), bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import DashboardSettings, SettingsError

GOOD_SECRET = "0123456789abcdef" * 4
REDIS = {"REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_defaults_bind_to_loopback(tmp_path: Path) -> None:
    settings = DashboardSettings.from_env(REDIS, secret_file=tmp_path / "secret.key")
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 8080, "redis://127.0.0.1:6379/0")
    assert settings.retention_days == 365 and settings.commune_name == "" and not settings.https_only
    assert not settings.trust_forwarded  # X-Forwarded-For is anyone's to write unless our own proxy sets it


def test_a_local_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "secret.key"
    first = DashboardSettings.from_env(REDIS, secret_file=path).secret_key
    assert len(first) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert DashboardSettings.from_env(REDIS, secret_file=path).secret_key == first


def test_a_required_secret_must_be_set(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DASHBOARD_SECRET_KEY is not set"):
        DashboardSettings.from_env({**REDIS, "DASHBOARD_REQUIRE_SECRET": "1"}, secret_file=tmp_path / "s.key")
    assert not (tmp_path / "s.key").exists()
    env = {**REDIS, "DASHBOARD_REQUIRE_SECRET": "1", "DASHBOARD_SECRET_KEY": GOOD_SECRET}
    assert DashboardSettings.from_env(env, secret_file=tmp_path / "s.key").secret_key == GOOD_SECRET


@pytest.mark.parametrize("secret", ["short", "fake-dashboard-secret-change-me-0123456789abcdef"])
def test_weak_or_placeholder_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(SettingsError, match="DASHBOARD_SECRET_KEY"):
        DashboardSettings.from_env({**REDIS, "DASHBOARD_SECRET_KEY": secret}, secret_file=tmp_path / "s.key")


@pytest.mark.parametrize(("name", "value"), [
    ("DASHBOARD_PORT", "80a"), ("DASHBOARD_PORT", "70000"), ("DASHBOARD_PORT", "0"),
    ("FEEDBACK_RETENTION_DAYS", "-1"), ("FEEDBACK_RETENTION_DAYS", "0"), ("REDIS_URL", "http://127.0.0.1"),
    ("DASHBOARD_REQUIRE_SECRET", "maybe"), ("DASHBOARD_TRUST_FORWARDED", "proxy"), ("REDIS_URL", ""),
])
def test_bad_values_fail_fast(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        DashboardSettings.from_env({**REDIS, name: value, "DASHBOARD_SECRET_KEY": GOOD_SECRET}, secret_file=tmp_path / "s")


def test_everything_can_be_set(tmp_path: Path) -> None:
    settings = DashboardSettings.from_env({
        "DASHBOARD_SECRET_KEY": GOOD_SECRET, "REDIS_URL": "redis://:pw@redis:6379/0", "DASHBOARD_HOST": "0.0.0.0",
        "DASHBOARD_PORT": "9000", "FEEDBACK_RETENTION_DAYS": "90", "COMMUNE_NAME": "Xã Ví Dụ",
        "DASHBOARD_HTTPS_ONLY": "1", "DASHBOARD_TRUST_FORWARDED": "1"}, secret_file=tmp_path / "s")
    assert (settings.host, settings.port, settings.retention_days, settings.commune_name, settings.https_only,
            settings.trust_forwarded) == ("0.0.0.0", 9000, 90, "Xã Ví Dụ", True, True)
