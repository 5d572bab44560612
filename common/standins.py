"""Stand-in modules for libraries a process imports but never runs, so it does not pay their memory.

Rasa imports TensorFlow, the SDKs of eight chat channels, MongoDB and AWS clients and matplotlib whenever it serves,
whatever the model and the channels (rasa_addons/without_tensorflow.py). A `StandIns` group puts a finder first on
`sys.meta_path` that answers every import of its packages (and their submodules) with a stand-in module. Any attribute
of a stand-in is a stand-in class, so the modules that import them load: `class RasaModel(tf.keras.Model)` defines a
class, a stand-in used as a decorator returns what it decorates, `Union[np.ndarray, tf.Tensor]` is a type.

Nothing of the left-out library can run, and using it fails loudly with the group's `NotLoaded` error naming what
was asked for: instantiating a class that subclasses a stand-in always raises; calling a stand-in itself raises
too, unless the group is `lenient` (TensorFlow: Rasa's modules call `tf.constant(…)`-like things at import time, and
every TensorFlow class is refused when instantiated anyway). Stdlib only, and importable on Rasa's Python 3.10.

`imported_when_called` is the gentler kind, for a module a library imports for a function this process almost never
calls: while the library is imported the module is a stand-in whose names are functions that import the real module
on their first call.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class NotLoaded(RuntimeError):
    """Something tried to use a library this process was started without."""


class _StandInType(type):
    """The metaclass of every stand-in class: attributes are more stand-ins; calling one may return one."""

    _group: StandIns

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return cls._group.stand_in(f"{cls.__qualname__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("_stand_in"):
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]  # used as a decorator: keeps what it decorates
            if cls._group.lenient:
                return cls._group.stand_in(f"{cls.__qualname__}()")
            raise cls._group.error(cls.__qualname__, cls.__qualname__)
        # a real class built on a stand-in: name it, and the stand-in it was built on
        base = next(b for b in cls.__mro__ if b.__dict__.get("_stand_in"))
        raise cls._group.error(f"{cls.__module__}.{cls.__qualname__}", base.__qualname__)

    def __iter__(cls):  # type: ignore[no-untyped-def]
        return iter(())

    def __bool__(cls) -> bool:
        return False


class _StandInModule(types.ModuleType):
    _group: StandIns

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._group.stand_in(f"{self.__name__}.{name}")


class _Loader(importlib.abc.Loader):
    def __init__(self, group: StandIns) -> None:
        self.group = group

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module._group = self.group
        module.__path__ = []  # a package: `import tensorflow.keras.backend` resolves through the finder too
        setattr(module, "__version__", "0+not-loaded")  # noqa: B010 (a module attribute mypy does not know)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, group: StandIns) -> None:
        self.group = group

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in self.group.packages:
            return importlib.machinery.ModuleSpec(fullname, _Loader(self.group), is_package=True)
        return None


class StandIns:
    """One group of left-out packages, with the error their use raises."""

    def __init__(self, packages: Sequence[str], error: Callable[[str, str], NotLoaded], lenient: bool = False) -> None:
        self.packages = tuple(packages)
        # (what was used: "module.Class" or "package.function", the stand-in it is or was built on) → the exception
        self.error = error
        self.lenient = lenient
        self._classes: dict[str, type] = {}

    def stand_in(self, qualname: str) -> type:
        """The stand-in class for a dotted name (one per name, so `isinstance` and subclassing are stable)."""
        if qualname not in self._classes:
            module = qualname.split(".", 1)[0]
            cls = _StandInType(qualname.rsplit(".", 1)[-1], (), {"_stand_in": True, "__module__": module})
            cls.__qualname__ = qualname
            cls._group = self
            self._classes[qualname] = cls
        return self._classes[qualname]

    def installed(self) -> bool:
        return any(isinstance(finder, _Finder) and finder.group is self for finder in sys.meta_path)

    def imported(self) -> list[str]:
        """The group's packages already imported for real in this process."""
        return sorted({name.split(".", 1)[0] for name in sys.modules} & set(self.packages)
                      - {name for name, module in sys.modules.items() if isinstance(module, _StandInModule)})

    def install(self) -> bool:
        """Answer the packages' imports with stand-ins from now on in this process (idempotent).

        False, and nothing changes, when one of them is already imported: the real one stays.
        """
        if self.installed():
            return True
        if self.imported():
            return False
        sys.meta_path.insert(0, _Finder(self))
        return True

    def uninstall(self) -> None:
        """Stop answering (modules already made stay in `sys.modules`); for tests."""
        sys.meta_path[:] = [f for f in sys.meta_path if not (isinstance(f, _Finder) and f.group is self)]


def is_stand_in(value: object) -> bool:
    """True for a stand-in module or class."""
    return isinstance(value, (_StandInModule, _StandInType))


@contextlib.contextmanager
def imported_when_called(modules: Sequence[str]) -> Iterator[None]:
    """While a library is imported, each module in `modules` not imported yet is a stand-in: every name taken from it
    is a function that imports the real module and calls its namesake when first called. Afterwards the stand-ins
    leave `sys.modules`, so any later import of those modules gets the real ones."""
    placed: dict[str, types.ModuleType] = {}
    for name in modules:
        if name not in sys.modules:
            stand_in = types.ModuleType(name, f"{name}, imported when one of its functions is first called")
            stand_in.__dict__["__getattr__"] = functools.partial(_called_later, name)  # PEP 562: names not defined
            sys.modules[name] = placed[name] = stand_in
    try:
        yield
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def _called_later(module: str, attribute: str) -> Callable[..., Any]:
    """A function that imports `module` and calls its `attribute` (for `imported_when_called`)."""
    if attribute.startswith("__"):
        raise AttributeError(attribute)  # the import machinery's own questions (__path__, __file__…)

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attribute
    return call
