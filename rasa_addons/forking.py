"""Rasa's Sanic workers keep sharing the memory of the process they were forked from.

With `SANIC_WORKERS` > 1, Sanic 21.12 forks the workers from the process that imported Rasa (about 100 MB of Python
objects), so at first they share those pages with it. The garbage collector then walks every tracked object in each
worker, writing to its header, and the kernel copies each page it touches: two workers ended up with private copies
of most of what they had inherited, and the idle parent kept the originals. `gc.freeze()` just before the fork moves
every object that exists then out of the collector's reach (Python's own advice for forking servers), so the
inherited pages stay shared; objects made after the fork are collected as before.
"""

from __future__ import annotations

import gc
from typing import Any

_FREEZES = "_freezes_before_fork"


def install() -> None:
    """Freeze the collector's objects before Sanic forks its workers (once per process)."""
    import sanic.app

    original = sanic.app.serve_multiple
    if getattr(original, _FREEZES, False):
        return

    def serve_multiple(server_settings: dict[str, Any], workers: int) -> Any:
        gc.collect()
        gc.freeze()
        return original(server_settings, workers)

    setattr(serve_multiple, _FREEZES, True)
    sanic.app.serve_multiple = serve_multiple
