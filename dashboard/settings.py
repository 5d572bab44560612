"""Settings of the staff dashboard, read once from the environment; bad values fail fast."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from common.settings import REDIS_SCHEMES, SettingsError

__all__ = ["DashboardSettings", "SettingsError"]

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = ROOT / ".cache" / "dashboard-secret.key"
MIN_SECRET_CHARS = 32


def _positive_int(env: dict[str, str], name: str, default: int, maximum: int | None = None) -> int:
    raw = env.get(name, "") or str(default)
    if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        bound = f" up to {maximum}" if maximum else ""
        raise SettingsError(f"{name} must be a positive whole number{bound}, got {raw!r}")
    return int(raw)


def _flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "0").strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")
    return raw in {"1", "true", "yes"}


def _secret(env: dict[str, str], secret_file: Path) -> str:
    """DASHBOARD_SECRET_KEY; for local runs a random key kept in .cache/ (created once) unless a secret is required."""
    required = _flag(env, "DASHBOARD_REQUIRE_SECRET")
    value = env.get("DASHBOARD_SECRET_KEY", "").strip()
    if value:
        if len(value) < MIN_SECRET_CHARS or "change-me" in value:
            raise SettingsError(
                f"DASHBOARD_SECRET_KEY must be a random value of at least {MIN_SECRET_CHARS} characters, not a "
                "placeholder: e.g. the output of `openssl rand -hex 32`")
        return value
    if required:
        raise SettingsError("DASHBOARD_SECRET_KEY is not set (required when DASHBOARD_REQUIRE_SECRET=1): "
                            "set it to the output of `openssl rand -hex 32`")
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_hex(32))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


@dataclass(frozen=True)
class DashboardSettings:
    """Everything the dashboard reads from the environment."""

    secret_key: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    host: str = "127.0.0.1"
    port: int = 8080
    retention_days: int = 365
    commune_name: str = ""
    https_only: bool = False
    trust_forwarded: bool = False  # only behind the commune's own reverse proxy: anyone can send X-Forwarded-For
    knowledge_dir: Path = ROOT / "knowledge"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, secret_file: Path = SECRET_FILE) -> DashboardSettings:
        """Read and check settings; raise SettingsError with a clear message on a bad value."""
        env = dict(os.environ if env is None else env)
        redis_url = env.get("REDIS_URL", "").strip()
        if not redis_url:
            raise SettingsError("REDIS_URL is not set: the dashboard reads feedback and analytics from Redis "
                                "(e.g. redis://127.0.0.1:6379/0)")
        if not redis_url.startswith(REDIS_SCHEMES):
            raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {redis_url!r}")
        return cls(
            secret_key=_secret(env, secret_file),
            redis_url=redis_url,
            host=env.get("DASHBOARD_HOST", "") or "127.0.0.1",
            port=_positive_int(env, "DASHBOARD_PORT", 8080, maximum=65535),
            retention_days=_positive_int(env, "FEEDBACK_RETENTION_DAYS", 365),
            commune_name=env.get("COMMUNE_NAME", "").strip(),
            https_only=_flag(env, "DASHBOARD_HTTPS_ONLY"),
            trust_forwarded=_flag(env, "DASHBOARD_TRUST_FORWARDED"),
            knowledge_dir=Path(env.get("KNOWLEDGE_DIR", "") or ROOT / "knowledge"),
        )
