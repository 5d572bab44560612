"""Serve a Rasa model that has no TensorFlow component without importing TensorFlow (~430 MB per Rasa process).

Rasa 3.6 imports TensorFlow whenever it starts a server, whatever the model: `rasa.core.run` → `rasa.core.agent` →
`rasa.core.policies.policy` → … → `rasa.utils.train_utils` → `rasa.utils.tensorflow.callback` (`import tensorflow`),
and a dozen modules of `rasa.utils.tensorflow` define classes on `tf.keras` at import time. This project's pipeline
(config.yml: count vectors, logistic regression, rules) never runs any of it, yet TensorFlow is 433 MB of a Rasa
process's ~580 MB (docs/memory.md), paid once per Sanic worker.

`install()` puts a finder first on `sys.meta_path` that answers every import of `tensorflow`, `keras` and
TensorFlow's companion packages (and their submodules) with a stand-in module. Any attribute of a stand-in is a
stand-in class, so Rasa's modules import: `class RasaModel(tf.keras.Model)` defines a class, `tf.function` decorates,
`Union[np.ndarray, tf.Tensor]` is a type. Nothing of TensorFlow can run, and where a model needs it, it fails loudly:

- instantiating a class that subclasses a stand-in (every Rasa TensorFlow layer, model, callback) raises
  `TensorFlowNotLoaded` naming the class, so loading a model with DIET, TED, ResponseSelector, ConveRT or a language
  model featurizer stops at start-up instead of serving wrong answers;
- `check_model(path)` reads the graph schema of a trained model (`metadata.json` in the archive) and raises the same
  error, before Rasa starts, when any node's component lives in a module that imports TensorFlow; `rasa_addons
  __main__` runs it for `rasa run --model`.

It is opt-in: `RASA_WITHOUT_TENSORFLOW=1` in the environment, read by `rasa_addons/__init__.py` before anything of
Rasa is imported, and `python -m rasa_addons run …` (rather than `rasa run …`) so that happens before Rasa's own
start-up imports TensorFlow. `install()` does nothing when TensorFlow is already imported, so `rasa train` and
`rasa test` keep the real one even with the variable set; `python -m rasa_addons` refuses to start then.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
import tarfile
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENV = "RASA_WITHOUT_TENSORFLOW"
# Top-level packages answered by the stand-in (Rasa 3.6 imports the first two when it starts; the others only inside
# TensorFlow components).
PACKAGES = ("tensorflow", "keras", "tensorflow_addons", "tensorflow_hub", "tensorflow_text", "tensorflow_probability")
# Components whose module imports one of the packages above (checked against Rasa 3.6.21's sources).
TENSORFLOW_MODULES = (
    "rasa.nlu.classifiers.diet_classifier",
    "rasa.nlu.selectors.response_selector",
    "rasa.nlu.featurizers.dense_featurizer.convert_featurizer",
    "rasa.nlu.featurizers.dense_featurizer.lm_featurizer",
    "rasa.core.policies.ted_policy",
    "rasa.core.policies.unexpected_intent_policy",
)


class TensorFlowNotLoaded(RuntimeError):
    """Something tried to run TensorFlow in a process started without it."""


def _not_loaded(what: str) -> TensorFlowNotLoaded:
    return TensorFlowNotLoaded(
        f"{what} needs TensorFlow, which this Rasa process was started without ({ENV}=1). "
        f"Serve this model with `rasa run` and without {ENV}."
    )


class _StandInType(type):
    """The metaclass of every stand-in: attributes are more stand-ins; calling one returns one."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return stand_in(f"{cls.__qualname__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("_stand_in"):
            # tf.function(f), tf.keras.utils.register_keras_serializable(…)(cls), tf.constant(…) at import time
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]  # a decorator keeps what it decorates
            return stand_in(f"{cls.__qualname__}()")
        raise _not_loaded(f"{cls.__module__}.{cls.__qualname__}")

    def __iter__(cls):
        return iter(())

    def __bool__(cls) -> bool:
        return False


_CACHE: dict[str, type] = {}


def stand_in(qualname: str) -> type:
    """The stand-in class for a dotted TensorFlow name (one per name, so `isinstance` and subclassing are stable)."""
    if qualname not in _CACHE:
        cls = _StandInType(qualname.rsplit(".", 1)[-1], (), {"_stand_in": True, "__module__": "tensorflow"})
        cls.__qualname__ = qualname
        _CACHE[qualname] = cls
    return _CACHE[qualname]


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return stand_in(f"{self.__name__}.{name}")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []  # a package: `import tensorflow.keras.backend` resolves through this finder too
        module.__version__ = "0+not-loaded"
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)
        return None


def installed() -> bool:
    return any(isinstance(finder, _Finder) for finder in sys.meta_path)


def install() -> bool:
    """Answer TensorFlow imports with stand-ins from now on in this process (idempotent).

    False, and nothing changes, when TensorFlow is already imported (`rasa train` and `rasa test` import it before
    they import this package): the real one stays.
    """
    if installed():
        return True
    if any(name.split(".", 1)[0] in PACKAGES for name in sys.modules):
        return False
    sys.meta_path.insert(0, _Finder())
    return True


def tensorflow_components(metadata: dict[str, Any]) -> list[str]:
    """The components of a trained model's graph (predict and train schemas) that live in TensorFlow modules."""
    found = set()
    for schema in ("predict_schema", "train_schema"):
        for node in metadata.get(schema, {}).get("nodes", {}).values():
            uses = str(node.get("uses", ""))
            if any(uses == module or uses.startswith(module + ".") for module in TENSORFLOW_MODULES):
                found.add(uses)
    return sorted(found)


def model_metadata(model: Path) -> dict[str, Any]:
    """`metadata.json` of a packed model (`rasa train` output)."""
    with tarfile.open(model, "r:gz") as archive:
        member = archive.extractfile("metadata.json")
        if member is None:
            raise ValueError(f"{model} has no metadata.json")
        return json.load(member)


def check_model(model: Path) -> None:
    """Raise `TensorFlowNotLoaded` when the model cannot be served without TensorFlow."""
    components = tensorflow_components(model_metadata(model))
    if components:
        raise _not_loaded(f"The model {model} uses {', '.join(components)}, which")
