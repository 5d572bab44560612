"""Shared helpers of the dashboard tests: records, the CSRF token of a page, test settings."""

from __future__ import annotations

import re
from typing import Any

from common.records import FeedbackRecord

TEST_REDIS_URL = "redis://127.0.0.1:6379/11"  # db 11 belongs to these tests: flushed before and after each one
SECRET = "test-secret-" + "x" * 40
PASSWORD = "mat-khau-thu-nghiem"


def rating(at: float, value: str = "hai_long", **kw: Any) -> FeedbackRecord:
    """A rating record with sensible defaults."""
    base: dict[str, Any] = {"resident": "r1", "channel": "zalo", "commune": "vi-du", "kind": "rating", "rating": value,
                            "topic": "dvc-login", "at": at}
    base.update(kw)
    return FeedbackRecord(**base)


def comment(at: float, **kw: Any) -> FeedbackRecord:
    """A comment record (its text is stored separately)."""
    base: dict[str, Any] = {"resident": "r2", "channel": "telegram", "commune": "vi-du", "kind": "comment",
                            "topic": "vneid-activate", "at": at}
    base.update(kw)
    return FeedbackRecord(**base)


def csrf_of(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
