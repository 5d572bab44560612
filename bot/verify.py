"""Checks on what a webhook caller sends: secrets compared in constant time, whatever bytes the header holds."""

from __future__ import annotations

import hmac


def same_secret(given: str | None, expected: str) -> bool:
    """True when `given` equals the configured secret; False (never an exception) for missing or non-ASCII input.

    aiohttp decodes header bytes that are not UTF-8 into lone surrogates, and `hmac.compare_digest` refuses
    non-ASCII str: both used to turn a forged header into HTTP 500 with a traceback instead of 401/403.
    """
    if not given or not expected:
        return False
    try:
        given_bytes = given.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given_bytes, expected.encode("utf-8"))
