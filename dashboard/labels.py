"""Vietnamese display names for guide, step, commune and channel ids (one Labels object per app, on app.state)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from dashboard import formatting

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Labels:
    """Vietnamese names for guide ids (from knowledge/) and commune ids (from communes/), loaded on first use."""

    knowledge_dir: Path
    communes_dir: Path

    @lru_cache(maxsize=1)  # noqa: B019 - one Labels per app, kept for the app's lifetime
    def guides(self) -> dict[str, Any]:
        """The parsed guides, or {} when they cannot be read (ids are shown instead)."""
        try:
            from common.guides import load_guides

            return load_guides(self.knowledge_dir)
        except Exception:  # noqa: BLE001 - labels are a nicety; the figures must still show
            logger.warning("Could not read the guides in %s: showing guide ids", self.knowledge_dir, exc_info=True)
            return {}

    def topic(self, guide_id: str) -> str:
        """A guide's short title, or its id."""
        guide = self.guides().get(guide_id)
        return guide.short_title if guide is not None else (guide_id or "không rõ")

    def step(self, guide_id: str, step: int) -> str:
        """The text of a walkthrough step (shortened), or ''."""
        guide = self.guides().get(guide_id)
        if guide is None or not 1 <= step <= len(guide.steps):
            return ""
        text = guide.steps[step - 1]
        return text if len(text) <= 90 else text[:89] + "…"

    @lru_cache(maxsize=64)  # noqa: B019
    def commune(self, commune_id: str) -> str:
        """The commune's name from communes/<id>.yml, or its id."""
        path = self.communes_dir / f"{commune_id}.yml"
        if commune_id and path.is_file():
            try:
                from common.communes import load_commune

                return load_commune(path).name
            except Exception:  # noqa: BLE001
                logger.warning("Could not read %s", path, exc_info=True)
        return commune_id or "không rõ"

    @staticmethod
    def channel(channel: str) -> str:
        """A channel's display name."""
        return formatting.label(formatting.CHANNEL_LABELS, channel)
