"""The dashboard's one settings object: read once from the environment at start, checked, and passed to the app."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from common.logs import LogFormat
from common.settings import PLACEHOLDERS, ProcessSettings, RedisURL, SettingsError, describe

__all__ = ["DashboardSettings", "SettingsError"]

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = ROOT / ".cache" / "dashboard-secret.key"
MIN_SECRET_CHARS = 32


def _local_secret(path: Path) -> str:
    """For local runs: a random key kept in .cache/ (created once, readable by this user only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class DashboardSettings(ProcessSettings):
    """Everything the dashboard reads from the environment."""

    secret_key: str = Field("", repr=False, validation_alias="DASHBOARD_SECRET_KEY")
    require_secret: bool = Field(False, validation_alias="DASHBOARD_REQUIRE_SECRET")
    # required in the environment (from_env); code that builds settings directly hands the app its own client
    redis_url: RedisURL = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    host: str = Field("127.0.0.1", validation_alias="DASHBOARD_HOST")
    port: int = Field(8080, gt=0, lt=65536, validation_alias="DASHBOARD_PORT")
    retention_days: int = Field(365, gt=0, validation_alias="FEEDBACK_RETENTION_DAYS")
    commune_name: str = Field("", validation_alias="COMMUNE_NAME")
    https_only: bool = Field(False, validation_alias="DASHBOARD_HTTPS_ONLY")
    # only behind the commune's own reverse proxy: anyone can send X-Forwarded-For
    trust_forwarded: bool = Field(False, validation_alias="DASHBOARD_TRUST_FORWARDED")
    knowledge_dir: Path = Field(ROOT / "knowledge", validation_alias="KNOWLEDGE_DIR")
    log_format: LogFormat = Field("text", validation_alias="LOG_FORMAT")  # json for a log collector
    replica: str = Field("", validation_alias="HOSTNAME")  # names this replica in JSON log lines (a pod's name)
    secret_file: Path | None = Field(None, exclude=True, repr=False)  # where a local run keeps its generated key

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[Any], init_settings: Any, env_settings: Any,
                                   dotenv_settings: Any, file_secret_settings: Any) -> tuple[Any, ...]:
        """Only what `from_env` (or a test) hands in: the environment is read there, as one dict."""
        return (init_settings,)

    @field_validator("secret_key")
    @classmethod
    def _strong(cls, value: str) -> str:
        if value and (len(value) < MIN_SECRET_CHARS or value.lower() in PLACEHOLDERS or "change-me" in value):
            raise ValueError(f"must be a random value of at least {MIN_SECRET_CHARS} characters, not a placeholder: "
                             "e.g. the output of `openssl rand -hex 32`")
        return value

    @model_validator(mode="after")
    def _secret_or_local_key(self) -> DashboardSettings:
        if self.secret_key:
            return self
        if self.require_secret:
            raise ValueError("DASHBOARD_SECRET_KEY is not set (required when DASHBOARD_REQUIRE_SECRET=1): "
                             "set it to the output of `openssl rand -hex 32`")
        if self.secret_file is None:  # built in code (tests): a key for this process only
            object.__setattr__(self, "secret_key", secrets.token_hex(32))
        else:
            object.__setattr__(self, "secret_key", _local_secret(self.secret_file))
        return self

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, secret_file: Path = SECRET_FILE) -> DashboardSettings:
        """Read and check settings (from `env`, default the process environment); SettingsError on a bad value."""
        source = dict(os.environ if env is None else env)
        data: dict[str, Any] = {k: v for k, v in source.items() if v.strip()}  # empty means unset
        if "REDIS_URL" not in data:
            raise SettingsError("REDIS_URL: is not set: the dashboard reads feedback and analytics from Redis "
                                "(e.g. redis://127.0.0.1:6379/0)")
        try:
            return cls(**data, secret_file=secret_file)
        except ValidationError as exc:
            raise SettingsError(describe(cls, exc)) from None
