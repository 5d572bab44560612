"""Settings of the web chat gateway, from the environment (see .env.example and the README's "Web" section)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.settings import CommonSettings, SettingsError, _int, flag


def _origins(raw: str) -> tuple[str, ...]:
    """`https://xa-vi-du.gov.vn, https://www.xa-vi-du.gov.vn` → normalised origins; fails on anything else."""
    out = []
    for item in (part.strip().rstrip("/") for part in raw.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise SettingsError(f"WEB_ALLOWED_ORIGIN must list origins like https://xa-vi-du.gov.vn, got {item!r}")
        out.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(out)


@dataclass(frozen=True)
class WebSettings:
    """Where the widget's server listens, which other websites may embed it, and how fast one visitor may write."""

    common: CommonSettings
    port: int = 8084
    allowed_origins: tuple[str, ...] = ()
    rate_per_minute: int = 30
    trust_forwarded: bool = False
    static_max_age_s: int = 300

    @classmethod
    def from_env(cls) -> WebSettings:
        rate = _int("WEB_RATE_LIMIT", 30)
        if rate < 1:
            raise SettingsError(f"WEB_RATE_LIMIT must be at least 1, got {rate}")
        return cls(
            common=CommonSettings.from_env(),
            port=_int("WEB_PORT", 8084),
            allowed_origins=_origins(os.environ.get("WEB_ALLOWED_ORIGIN", "")),
            rate_per_minute=rate,
            trust_forwarded=flag("WEB_TRUST_FORWARDED"),
        )
