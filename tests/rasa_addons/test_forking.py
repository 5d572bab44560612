"""rasa_addons.forking: Sanic's forked Rasa workers keep sharing the pages of the objects they inherited."""

from __future__ import annotations

import gc
import os
from pathlib import Path
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


def serve(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> None:
    """Call `rasa.core.run.serve_application` as `rasa.api.run` does, through the wrapper, over a stand-in with
    Rasa's signature that starts no server."""
    import rasa.core.run

    served: list[Any] = []

    def serve_application(model_path: Any = None, channel: Any = None, remote_storage: Any = None,
                          port: int = 5005) -> None:
        served.append(model_path)

    monkeypatch.setattr(forking, "_SERVING", {})
    monkeypatch.setattr(rasa.core.run, "serve_application", serve_application)
    forking._remember_what_is_served()
    rasa.core.run.serve_application(*args, **kwargs)
    assert served == [args[0] if args else kwargs.get("model_path")]


def test_rasa_serves_through_the_wrapper_that_notes_the_model() -> None:
    import rasa.core.run
    from rasa.shared.utils.common import arguments_of, minimal_kwargs

    wrapper = rasa.core.run.serve_application
    assert getattr(wrapper, forking._REMEMBERS, False)
    # `rasa.api.run` filters its arguments by the signature of what it calls: the port must get through
    assert arguments_of(wrapper) == arguments_of(wrapper.__wrapped__)
    assert minimal_kwargs({"port": 5105, "interface": "127.0.0.1"}, wrapper) == {"port": 5105,
                                                                                 "interface": "127.0.0.1"}
    forking.install()  # idempotent: not wrapped twice
    assert rasa.core.run.serve_application is wrapper


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time the model archive is really read (Rasa's own loader, counted), with nothing preloaded before."""
    from rasa.core.processor import MessageProcessor

    seen: list[str] = []
    monkeypatch.setattr(forking, "_PRELOADED", {})
    monkeypatch.setattr(MessageProcessor, "_load_model", staticmethod(lambda path: seen.append(str(path)) or
                                                                      ("model.tar.gz", "metadata", object())))
    forking._share_preloaded_model()
    return seen


def test_rasa_workers_share_the_model_the_parent_loaded(unfrozen: None, loads: list[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sanic.app
    from rasa.core.processor import MessageProcessor

    archive = tmp_path / "models" / "assistant.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"a model")
    forked: list[int] = []
    monkeypatch.setattr(sanic.app, "serve_multiple", lambda settings, workers: forked.append(len(loads)))
    forking.install()
    serve(monkeypatch, str(archive.parent), channel="rest")
    sanic.app.serve_multiple({}, 2)
    assert loads == [str(archive.parent)] and forked == [1]  # loaded once, before the fork
    assert gc.get_freeze_count() > 0

    # a worker asks for the model by the path it was given: it gets the parent's graph, the archive is not read
    preloaded = forking._PRELOADED[(str(archive.resolve()), archive.stat().st_mtime_ns)]
    assert MessageProcessor._load_model(str(archive)) is preloaded
    assert loads == [str(archive.parent)]
    # a later reload of the same path reads the file again
    assert MessageProcessor._load_model(str(archive)) is not preloaded
    assert loads == [str(archive.parent), str(archive)]


def test_a_changed_or_remote_model_is_not_taken_from_the_parent(unfrozen: None, loads: list[str], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import sanic.app
    from rasa.core.processor import MessageProcessor

    archive = tmp_path / "assistant.tar.gz"
    archive.write_bytes(b"a model")
    monkeypatch.setattr(sanic.app, "serve_multiple", lambda settings, workers: None)
    forking.install()
    sanic.app.serve_multiple({}, 2)  # nothing served yet: nothing to preload, no crash
    serve(monkeypatch, model_path=archive, remote_storage="aws")
    sanic.app.serve_multiple({}, 2)
    assert loads == [] and forking._PRELOADED == {}

    serve(monkeypatch, archive)
    sanic.app.serve_multiple({}, 2)
    os.utime(archive, ns=(1, 1))  # replaced after the parent loaded it
    MessageProcessor._load_model(archive)
    assert loads == [str(archive), str(archive)]


def test_a_missing_model_is_left_to_rasa_s_own_error() -> None:
    assert forking._archive("/no/such/model.tar.gz") is None
