"""A long-lived process settles after start-up: what it loaded for good leaves the collector, freed heap goes back.

Loading Rasa's model or the action server's index and part models makes large temporary objects (parsed files,
training matrices) on the way to what is kept. Python frees them, but glibc keeps the freed pages inside the heap
and the process keeps them resident: measured here, a Rasa worker held 20 MB of such pages after loading its model,
and the action server 8 MB after its warm-up. `malloc_trim(0)` hands those pages back to the kernel.

The objects that remain are kept until the process stops. `gc.freeze()` moves them out of the cyclic collector's
reach, so its full collections, which run in the middle of a resident's turn, no longer walk ~180,000 of them.
Objects made later are collected as before; a frozen object is still freed when its reference count drops to 0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _trim() -> Any:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        function = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if function is not None:
        function.argtypes, function.restype = [ctypes.c_size_t], ctypes.c_int
    return function


def return_free_heap() -> bool:
    """Give the heap's free pages back to the kernel; False where the C library cannot."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True


def settle(process: str) -> None:
    """Call once the process has loaded what it keeps for its lifetime (a model, an index), before serving."""
    gc.collect()
    gc.freeze()
    returned = return_free_heap()
    logger.info("%s settled: %d objects frozen, free heap %s", process, gc.get_freeze_count(),
                "returned" if returned else "kept (no malloc_trim)")
