"""How Zalo counted the OA's messages: written by the Zalo OA gateway, read by the team's /stats (both in Redis).

    gw:zalo_oa:sent:<day>   hash: quota type Zalo reported (reply, sub_quota, …) or "paid" (no quota) → messages
    gw:zalo_oa:quota        hash: quota type → the last `quota` object Zalo returned for it (JSON, with "at")
"""

from __future__ import annotations

import time
from typing import Any

from bot.state import decode

SENT_KEY = "gw:zalo_oa:sent:{day}"
QUOTA_KEY = "gw:zalo_oa:quota"
KEEP_DAYS = 40


def vn_day(at: float | None = None) -> str:
    """The date in Vietnam (UTC+7), e.g. 2026-12-03."""
    return time.strftime("%Y-%m-%d", time.gmtime((time.time() if at is None else at) + 7 * 3600))


async def sent_on(redis: Any, day: str | None = None) -> dict[str, int]:
    """Messages the OA sent on a day, by how Zalo counted them."""
    raw = await redis.hgetall(SENT_KEY.format(day=day or vn_day()))
    return {decode(k): int(decode(v) or 0) for k, v in raw.items()}
