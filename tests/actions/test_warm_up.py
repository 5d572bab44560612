"""The action server's warm-up: the index, one query, every part model and the procedure catalogue are loaded, then
the process settles."""

from __future__ import annotations

from typing import Any

import pytest

from actions import server


class FakeIndex:
    guides = {"vneid-activate": None, "dvc-login": None}

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def search(self, text: str) -> list[Any]:
        self.events.append("search")
        return []


def test_the_server_settles_after_everything_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    index = FakeIndex(events)
    monkeypatch.setattr("actions.retrieval.index.get_index", lambda: index)
    monkeypatch.setattr("actions.retrieval.sections.ready_part_models",
                        lambda index: events.extend(f"parts {guide}" for guide in index.guides) or "stored")
    monkeypatch.setattr("procedures.search.get_procedure_index", lambda: events.append("catalogue"))
    monkeypatch.setattr(server, "settle", lambda process: events.append(f"settle {process}"))
    server._warm()
    assert events == ["search", "parts vneid-activate", "parts dvc-login", "catalogue", "settle Action server"]


def test_a_broken_index_is_logged_and_nothing_is_frozen(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("no index")

    settled: list[str] = []
    monkeypatch.setattr("actions.retrieval.index.get_index", broken)
    monkeypatch.setattr(server, "settle", settled.append)
    server._warm()
    assert settled == []
    assert "Could not load the retrieval index" in caplog.text
