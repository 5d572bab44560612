"""Rasa's Sanic workers keep sharing the memory of the process they were forked from.

With `SANIC_WORKERS` > 1, Sanic 21.12 forks the workers from the process that imported Rasa (about 100 MB of Python
objects), so at first they share those pages with it. The garbage collector then walks every tracked object in each
worker, writing to its header, and the kernel copies each page it touches: two workers ended up with private copies
of most of what they had inherited, and the idle parent kept the originals. `gc.freeze()` just before the fork moves
every object that exists then out of the collector's reach (Python's own advice for forking servers), so the
inherited pages stay shared; objects made after the fork are collected as before.

Each worker then loads the model itself (Rasa's `load_agent_on_start`); once it has, the worker settles
(`common.memory.settle`): the model's objects are frozen too, and the heap pages freed while loading (20 MB a worker,
measured) go back to the kernel. With one worker the same happens in the single process.
"""

from __future__ import annotations

import gc
from typing import Any

from common.memory import settle

_FREEZES = "_freezes_before_fork"
_SETTLES = "_settles_after_load"


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
    _settle_after_load()


def _settle_after_load() -> None:
    """Wrap Rasa's start-up listener, which `serve_application` looks up when it registers it, so the worker settles
    once its model is loaded."""
    import rasa.core.run

    original = rasa.core.run.load_agent_on_start
    if getattr(original, _SETTLES, False):
        return

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        settle("Rasa worker")
        return agent

    setattr(load_agent_on_start, _SETTLES, True)
    rasa.core.run.load_agent_on_start = load_agent_on_start
