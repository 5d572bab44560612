"""rasa_addons.forking: Sanic's forked Rasa workers keep sharing the pages of the objects they inherited."""

from __future__ import annotations

import gc
import os
from typing import Any

import pytest

import rasa_addons  # noqa: F401  (installs the patches, as `python -m rasa_addons run` does)
from rasa_addons import forking


def private_dirty_kb() -> int:
    with open("/proc/self/smaps_rollup", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Private_Dirty:"))


def child_copies_kb(objects: list[Any]) -> int:
    """Fork; the child runs a full collection and reports how many kB it had to copy (its new private pages)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        before = private_dirty_kb()
        gc.collect()
        os.write(write, str(private_dirty_kb() - before).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        copied = int(f.read())
    os.waitpid(pid, 0)
    assert objects
    return copied


def test_rasa_forks_its_workers_through_the_freezing_wrapper() -> None:
    import sanic.app

    assert getattr(sanic.app.serve_multiple, forking._FREEZES, False)
    wrapper = sanic.app.serve_multiple
    forking.install()  # idempotent: not wrapped twice
    assert sanic.app.serve_multiple is wrapper


def test_the_wrapper_freezes_before_forking(unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import sanic.app

    seen = []
    monkeypatch.setattr(sanic.app, "serve_multiple", lambda settings, workers: seen.append(gc.get_freeze_count()))
    forking.install()
    sanic.app.serve_multiple({}, 2)
    assert seen and seen[0] > 0


def test_a_frozen_parent_s_objects_stay_shared_after_the_child_collects(unfrozen: None) -> None:
    objects = [{"n": i, "text": f"câu hỏi {i}"} for i in range(300_000)]  # ~60 MB of tracked objects
    copied_unfrozen = child_copies_kb(objects)
    gc.collect()
    gc.freeze()
    copied_frozen = child_copies_kb(objects)
    assert copied_unfrozen > 20_000  # the collector wrote to every inherited object's page
    assert copied_frozen < copied_unfrozen / 5


def test_rasa_registers_the_settling_start_up_listener() -> None:
    import rasa.core.run

    wrapper = rasa.core.run.load_agent_on_start
    assert getattr(wrapper, forking._SETTLES, False)
    forking.install()  # idempotent: not wrapped twice
    assert rasa.core.run.load_agent_on_start is wrapper


async def test_a_worker_settles_once_its_model_is_loaded(unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa.core.run

    from common import memory

    events: list[str] = []

    async def load(*args: Any, **kwargs: Any) -> str:
        events.append("load")
        return "agent"

    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", load)
    monkeypatch.setattr(memory, "return_free_heap", lambda: events.append("trim") or True)
    forking._settle_after_load()
    assert await rasa.core.run.load_agent_on_start("model.tar.gz", None, None, None, None) == "agent"
    assert events == ["load", "trim"]
    assert gc.get_freeze_count() > 0
