"""Stand-in modules (common/standins.py): imports succeed, any use fails loudly, and a real import is never replaced."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.standins import NotLoaded, StandIns, imported_when_called, is_stand_in


class LeftOut(NotLoaded):
    pass


def refuse(what: str, stand_in: str) -> LeftOut:
    return LeftOut(f"{what} needs {stand_in.split('.', 1)[0]}")


@pytest.fixture
def group(request: pytest.FixtureRequest) -> Iterator[StandIns]:
    names = (f"leftout_{request.node.name[5:20]}",)
    made = StandIns(names, refuse, lenient=getattr(request, "param", False))
    assert made.install()
    yield made
    made.uninstall()
    for name in [n for n in sys.modules if n.split(".", 1)[0] in names]:
        del sys.modules[name]


def test_modules_that_import_it_load(group: StandIns) -> None:
    package = group.packages[0]
    module = importlib.import_module(f"{package}.web.client")
    assert is_stand_in(module) and is_stand_in(module.Client)
    assert module.Client is importlib.import_module(package).web.client.Client  # one class per name

    class Output(module.Client):  # a real class built on it, as Rasa's channels are
        pass

    with pytest.raises(LeftOut, match=rf"test_standins.*Output needs {package}"):
        Output()


def test_calling_it_raises_but_decorating_keeps_the_function(group: StandIns) -> None:
    module = importlib.import_module(group.packages[0])
    with pytest.raises(LeftOut, match="pairwise needs"):
        module.metrics.pairwise([1], [2])

    @module.register
    def kept() -> int:
        return 7

    assert kept() == 7


@pytest.mark.parametrize("group", [True], indirect=True)
def test_a_lenient_group_answers_calls_with_stand_ins(group: StandIns) -> None:
    module = importlib.import_module(group.packages[0])
    assert is_stand_in(module.constant(3)) and not module.constant(3)


def test_a_package_already_imported_is_left_alone() -> None:
    group = StandIns(("json",), refuse)
    assert group.imported() == ["json"] and not group.install() and not group.installed()
    assert not is_stand_in(importlib.import_module("json"))


def test_a_module_imported_when_called_is_not_imported_by_the_library(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "heavy_for_test.py").write_text("import os\nos.environ['HEAVY_RAN'] = '1'\n"
                                                "def double(x):\n    return 2 * x\n")
    (tmp_path / "library_for_test.py").write_text("from heavy_for_test import double\n"
                                                  "def twice(x):\n    return double(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("HEAVY_RAN", raising=False)
    for name in ("heavy_for_test", "library_for_test"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    with imported_when_called(["heavy_for_test"]):
        import library_for_test
    assert "HEAVY_RAN" not in os.environ and "heavy_for_test" not in sys.modules  # the stand-in has left
    assert library_for_test.twice(21) == 42  # the first call imports the real module
    assert os.environ.get("HEAVY_RAN") == "1" and sys.modules["heavy_for_test"].double(2) == 4


def test_a_module_already_imported_is_left_alone() -> None:
    real = sys.modules["json"]
    with imported_when_called(["json"]):
        assert sys.modules["json"] is real
    assert sys.modules["json"] is real
