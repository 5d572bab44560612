"""Serve a Rasa model that has no TensorFlow component without importing TensorFlow (~430 MB per Rasa process).

Rasa 3.6 imports TensorFlow whenever it starts a server, whatever the model: `rasa.core.run` → `rasa.core.agent` →
`rasa.core.policies.policy` → … → `rasa.utils.train_utils` → `rasa.utils.tensorflow.callback` (`import tensorflow`),
and a dozen modules of `rasa.utils.tensorflow` define classes on `tf.keras` at import time. This project's pipeline
(config.yml: count vectors, logistic regression, rules) never runs any of it, yet TensorFlow is 433 MB of a Rasa
process's ~580 MB (docs/memory.md), paid once per Sanic worker.

`install()` answers every import of `tensorflow`, `keras` and TensorFlow's companion packages (and their
submodules) with a stand-in module (common/standins.py): Rasa's modules import, `class RasaModel(tf.keras.Model)`
defines a class, `tf.function` decorates. Nothing of TensorFlow can run, and where a model needs it, it fails loudly:

- instantiating a class that subclasses a stand-in (every Rasa TensorFlow layer, model, callback) raises
  `TensorFlowNotLoaded` naming the class, so loading a model with DIET, TED, ResponseSelector, ConveRT or a language
  model featurizer stops at start-up instead of serving wrong answers;
- `check_model(path)` reads the graph schema of a trained model (`metadata.json` in the archive) and raises the same
  error, before Rasa starts, when any node's component lives in a module that imports TensorFlow; `rasa_addons
  __main__` runs it for `rasa run --model`.

The same switch leaves out UNUSED_PACKAGES, the SDKs of channels and stores this project does not use (~40 MB);
calling any of them raises, and `check_settings` refuses, before Rasa starts, a credentials.yml or endpoints.yml
that names such a channel or store.

It is opt-in: `RASA_WITHOUT_TENSORFLOW=1` in the environment, read by `rasa_addons/__init__.py` before anything of
Rasa is imported, and `python -m rasa_addons run …` (rather than `rasa run …`) so that happens before Rasa's own
start-up imports TensorFlow. `install()` does nothing when TensorFlow is already imported, so `rasa train` and
`rasa test` keep the real one even with the variable set; `python -m rasa_addons` refuses to start then.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from common.standins import NotLoaded, StandIns

ENV = "RASA_WITHOUT_TENSORFLOW"
# Top-level packages answered by the stand-in (Rasa 3.6 imports the first two when it starts; the others only inside
# TensorFlow components).
PACKAGES = ("tensorflow", "keras", "tensorflow_addons", "tensorflow_hub", "tensorflow_text", "tensorflow_probability")
# What else Rasa imports when it serves (checked against Rasa 3.6.21, ~40 MB per process): the SDKs of the channels
# this project does not use (credentials.yml names only rasa_addons.channel.ResidentRestInput), the clients of the
# MongoDB, DynamoDB and S3 stores (the stores are Redis), plotting, graph drawing and the interactive console.
CHANNEL_SDKS = {"telegram": "aiogram", "webexteams": "webexteamssdk", "slack": "slack_sdk", "twilio": "twilio",
                "twilio_voice": "twilio", "rocketchat": "rocketchat_API", "mattermost": "mattermostwrapper",
                "facebook": "fbmessenger", "socketio": "socketio"}
STORE_SDKS = {"mongod": "pymongo", "mongo": "pymongo", "dynamo": "boto3", "aws": "boto3"}
UNUSED_PACKAGES = (*sorted(set(CHANNEL_SDKS.values())), "pymongo", "boto3", "botocore", "matplotlib", "networkx",
                   "prompt_toolkit", "questionary")
# Components whose module imports one of the packages above (checked against Rasa 3.6.21's sources).
TENSORFLOW_MODULES = (
    "rasa.nlu.classifiers.diet_classifier",
    "rasa.nlu.selectors.response_selector",
    "rasa.nlu.featurizers.dense_featurizer.convert_featurizer",
    "rasa.nlu.featurizers.dense_featurizer.lm_featurizer",
    "rasa.core.policies.ted_policy",
    "rasa.core.policies.unexpected_intent_policy",
)


class TensorFlowNotLoaded(NotLoaded):
    """Something tried to run TensorFlow (or a left-out SDK) in a process started without it."""


def _not_loaded(what: str, _: str = "") -> TensorFlowNotLoaded:
    return TensorFlowNotLoaded(
        f"{what} needs TensorFlow, which this Rasa process was started without ({ENV}=1). "
        f"Serve this model with `rasa run` and without {ENV}."
    )


def _sdk_not_loaded(what: str, stand_in: str) -> TensorFlowNotLoaded:
    return TensorFlowNotLoaded(
        f"{what} needs {stand_in.split('.', 1)[0]}, which this Rasa process was started without ({ENV}=1): "
        f"no channel in credentials.yml nor store in endpoints.yml uses it. Start Rasa without {ENV} to use it."
    )


TENSORFLOW = StandIns(PACKAGES, _not_loaded, lenient=True)
UNUSED = StandIns(UNUSED_PACKAGES, _sdk_not_loaded)


def installed() -> bool:
    return TENSORFLOW.installed()


def install() -> bool:
    """Answer TensorFlow's imports (and the unused SDKs') with stand-ins from now on in this process (idempotent).

    False, and nothing changes, when TensorFlow is already imported (`rasa train` and `rasa test` import it before
    they import this package): the real one stays. The SDKs are left out only when none of them is imported yet.
    """
    if not TENSORFLOW.install():
        return False
    UNUSED.install()
    return True


def unusable_settings(credentials: dict[str, Any] | None, endpoints: dict[str, Any] | None) -> list[str]:
    """The channels (credentials.yml) and stores (endpoints.yml) that need a package of UNUSED_PACKAGES."""
    found = [f"channel '{name}'" for name in (credentials or {}) if name in CHANNEL_SDKS]
    for section in ("tracker_store", "lock_store", "event_broker", "models"):
        kind = str(((endpoints or {}).get(section) or {}).get("type", "")).lower()
        if kind in STORE_SDKS:
            found.append(f"{section} '{kind}'")
    return found


def check_settings(credentials: Path | None, endpoints: Path | None) -> None:
    """Raise `TensorFlowNotLoaded` when the channels or stores to serve need a left-out SDK."""
    import yaml

    def read(path: Path | None) -> dict[str, Any] | None:
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path and path.is_file() else None

    needs = unusable_settings(read(credentials), read(endpoints))
    if needs:
        raise TensorFlowNotLoaded(f"{', '.join(needs)} need an SDK this Rasa process was started without ({ENV}=1). "
                                  f"Start Rasa without {ENV} to use them.")


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
