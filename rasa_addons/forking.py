"""Rasa's Sanic workers keep sharing the memory of the process they were forked from.

With `SANIC_WORKERS` > 1, Sanic 21.12 forks the workers from the process that imported Rasa (about 100 MB of Python
objects), so at first they share those pages with it. The garbage collector then walks every tracked object in each
worker, writing to its header, and the kernel copies each page it touches: two workers ended up with private copies
of most of what they had inherited, and the idle parent kept the originals. `gc.freeze()` just before the fork moves
every object that exists then out of the collector's reach (Python's own advice for forking servers), so the
inherited pages stay shared; objects made after the fork are collected as before.

The model is loaded once, in that parent, before the fork (`_preload`): each worker's `MessageProcessor` then takes
the graph the parent loaded instead of unpacking the archive again, so the workers share the model's pages (35 MB of
heap a copy, measured) rather than each holding its own. A worker that reloads a model later (`PUT /model`), and a
model kept in remote storage, load as Rasa always does.

Once its agent is up (Rasa's `load_agent_on_start`) a worker settles (`common.memory.settle`): what it made is frozen
too, and the heap pages freed while loading (20 MB a worker, measured) go back to the kernel. With one worker there is
no fork: the single process loads the model and settles the same way.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from typing import Any

from common.memory import settle

_FREEZES = "_freezes_before_fork"
_SETTLES = "_settles_after_load"
_SHARES = "_shares_the_preloaded_model"
_REMEMBERS = "_remembers_the_model_served"

logger = logging.getLogger(__name__)

# (archive path, modification time) → what `MessageProcessor._load_model` returned for it in Sanic's parent
_PRELOADED: dict[tuple[str, int], Any] = {}
_SERVING: dict[str, Any] = {}  # the model `serve_application` was asked to serve, and its remote storage


def install() -> None:
    """Freeze the collector's objects before Sanic forks its workers (once per process)."""
    import sanic.app

    original = sanic.app.serve_multiple
    if getattr(original, _FREEZES, False):
        return

    def serve_multiple(server_settings: dict[str, Any], workers: int) -> Any:
        _preload()
        gc.collect()
        gc.freeze()
        return original(server_settings, workers)

    setattr(serve_multiple, _FREEZES, True)
    sanic.app.serve_multiple = serve_multiple
    _settle_after_load()
    _remember_what_is_served()
    _share_preloaded_model()


def _archive(model_path: Any) -> tuple[str, int] | None:
    """The archive Rasa would load for `model_path` (a file, or a folder's newest), with its modification time."""
    from rasa.model import get_latest_model

    path = str(model_path)
    if os.path.isdir(path):
        path = str(get_latest_model(path) or "")
    try:
        return os.path.realpath(path), os.stat(path).st_mtime_ns
    except OSError:
        return None


def _preload() -> None:
    """Load the model `serve_application` was asked to serve, once, in the process about to fork the workers."""
    from rasa.core.processor import MessageProcessor

    model_path, remote_storage = _SERVING.get("model_path"), _SERVING.get("remote_storage")
    key = None if remote_storage or model_path is None else _archive(model_path)
    if key is not None and key not in _PRELOADED:
        _PRELOADED[key] = MessageProcessor._load_model(model_path)
        logger.info("Model %s loaded before the fork: the workers share it.", key[0])


def _remember_what_is_served() -> None:
    """Wrap `rasa.core.run.serve_application` (looked up on the module by `rasa.api.run`) to note the model it serves
    and whether it comes from remote storage."""
    import inspect

    import rasa.core.run

    original = rasa.core.run.serve_application
    if getattr(original, _REMEMBERS, False):
        return
    signature = inspect.signature(original)

    # with Rasa's signature: `rasa.api.run` passes on only the arguments the function it calls names (port, …)
    @functools.wraps(original)
    def serve_application(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        _SERVING.update(model_path=bound.arguments.get("model_path"),
                        remote_storage=bound.arguments.get("remote_storage"))
        return original(*args, **kwargs)

    setattr(serve_application, _REMEMBERS, True)
    rasa.core.run.serve_application = serve_application


def _share_preloaded_model() -> None:
    """A worker's `MessageProcessor` takes the model loaded before the fork (once: a later reload reads the file)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._load_model
    if getattr(original, _SHARES, False):
        return

    def _load_model(model_path: Any) -> Any:
        key = _archive(model_path) if _PRELOADED else None
        loaded = _PRELOADED.pop(key, None) if key is not None else None
        return loaded if loaded is not None else original(model_path)

    setattr(_load_model, _SHARES, True)
    MessageProcessor._load_model = staticmethod(_load_model)  # type: ignore[method-assign]


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
