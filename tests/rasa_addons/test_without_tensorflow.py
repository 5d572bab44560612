"""Serving the model without TensorFlow (rasa_addons/without_tensorflow.py, rasa_addons/__main__.py).

Each check that needs the stand-in runs in a fresh interpreter: this test process has imported the real TensorFlow.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from addons_support import PROJECT_DIR

from rasa_addons import without_tensorflow

MODEL = PROJECT_DIR / "models" / "assistant.tar.gz"


def run_python(code: str, *args: str, env_flag: str | None = "1", timeout: int = 300) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(PROJECT_DIR), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
           "REDIS_URL": "memory://", "TRACKER_STORE_URL": "memory://", "LOCK_STORE_URL": "memory://",
           "ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook"}
    if env_flag is not None:
        env[without_tensorflow.ENV] = env_flag
    return subprocess.run([sys.executable, *(["-c", textwrap.dedent(code)] if code else []), *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=timeout, env=env)


def packed_model(tmp_path: Path, uses: list[str]) -> Path:
    """A model archive holding only a metadata.json whose graph uses these components."""
    metadata = {"predict_schema": {"nodes": {f"n{i}": {"uses": name} for i, name in enumerate(uses)}},
                "train_schema": {"nodes": {}}}
    path = tmp_path / "model.tar.gz"
    data = json.dumps(metadata).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_rasa_imports_and_patches_without_loading_tensorflow() -> None:
    done = run_python("""
        import sys
        import rasa_addons, rasa.core.run, rasa.core.agent, rasa.utils.tensorflow.models
        from rasa_addons import speedups, without_tensorflow
        tf = sys.modules["tensorflow"]
        assert type(tf).__name__ == "_StandInModule", type(tf)
        assert not any(name.startswith("tensorflow.python") for name in sys.modules)
        print(without_tensorflow.installed(), ",".join(speedups.applied()))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True", "validator_reuse,graph_cache,shared_sessions,fortran_coefficients,sentence_features,rule_lookup,state_replay"]


def test_anything_built_on_tensorflow_fails_loudly_when_made() -> None:
    done = run_python("""
        import rasa_addons
        from rasa.utils.tensorflow.layers import DenseForSparse
        from rasa_addons.without_tensorflow import TensorFlowNotLoaded
        try:
            DenseForSparse(units=3)
        except TensorFlowNotLoaded as error:
            print("refused:", error)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: rasa.utils.tensorflow.layers.DenseForSparse needs TensorFlow" in done.stdout


def test_the_list_of_tensorflow_components_matches_the_installed_rasa() -> None:
    # every default component imports under the stand-in; those whose module holds a stand-in are the listed ones
    done = run_python("""
        import importlib, json
        import rasa_addons
        from rasa.engine.recipes.default_components import DEFAULT_COMPONENTS
        from common.standins import is_stand_in
        found = set()
        for component in DEFAULT_COMPONENTS:
            module = importlib.import_module(component.__module__)
            if any(is_stand_in(value) for value in vars(module).values()):
                found.add(component.__module__)
        print(json.dumps(sorted(found)))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == sorted(without_tensorflow.TENSORFLOW_MODULES)


def test_the_real_model_is_answered_without_tensorflow() -> None:
    if not MODEL.exists():
        pytest.skip("no trained model: run `make build`")
    assert without_tensorflow.tensorflow_components(without_tensorflow.model_metadata(MODEL)) == []
    done = run_python(f"""
        import asyncio, sys
        import rasa_addons
        from rasa.core.agent import load_agent
        agent = asyncio.run(load_agent(model_path={str(MODEL)!r}))
        parsed = asyncio.run(agent.parse_message("quen mat khau vneid thi lam sao"))
        assert type(sys.modules["tensorflow"]).__name__ == "_StandInModule"
        print(parsed["intent"]["name"])
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "ask_vneid_troubleshoot"


def test_check_model_names_the_components_that_need_tensorflow(tmp_path: Path) -> None:
    model = packed_model(tmp_path, ["rasa.nlu.classifiers.diet_classifier.DIETClassifier",
                                    "rasa.core.policies.rule_policy.RulePolicy"])
    with pytest.raises(without_tensorflow.TensorFlowNotLoaded, match="DIETClassifier, which needs TensorFlow"):
        without_tensorflow.check_model(model)
    without_tensorflow.check_model(packed_model(tmp_path, ["rasa.core.policies.rule_policy.RulePolicy"]))


def test_the_launcher_refuses_a_model_that_needs_tensorflow(tmp_path: Path) -> None:
    model = packed_model(tmp_path, ["rasa.core.policies.ted_policy.TEDPolicy"])
    done = run_python("", "-m", "rasa_addons", "run", "--model", str(model))
    assert done.returncode == 1
    assert "TEDPolicy, which needs TensorFlow" in done.stderr
    assert "Serve this model with `rasa run`" in done.stderr


def test_install_leaves_an_already_imported_tensorflow_alone() -> None:
    # `rasa train` imports TensorFlow before it imports rasa_addons: the variable must not break training
    done = run_python("""
        import sys
        import rasa.model_training  # what `rasa train` has imported before it loads config.yml's components
        from rasa_addons import without_tensorflow
        print(without_tensorflow.installed(), without_tensorflow.install(), "tensorflow.python" in sys.modules)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-3:] == ["False", "False", "True"]


@pytest.mark.parametrize("flag", [None, "0"])
def test_without_the_variable_nothing_is_replaced(flag: str | None) -> None:
    done = run_python("""
        import sys
        from rasa_addons import without_tensorflow
        print(without_tensorflow.installed())
    """, env_flag=flag)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "False"


def test_the_sdks_of_unused_channels_are_left_out_and_refuse_to_run() -> None:
    done = run_python("""
        import sys
        import rasa_addons
        import rasa.core.run
        from rasa.core.channels.telegram import TelegramOutput
        from rasa_addons.without_tensorflow import UNUSED_PACKAGES, TensorFlowNotLoaded
        from common.standins import is_stand_in
        print(sorted(p for p in UNUSED_PACKAGES if p in sys.modules and not is_stand_in(sys.modules[p])))
        try:
            TelegramOutput("token")
        except TensorFlowNotLoaded as error:
            print("refused:", error)
        import aiogram
        try:
            aiogram.Bot("token")
        except TensorFlowNotLoaded as error:
            print("refused:", error)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "[]" in lines  # none of them imported for real
    assert [line for line in lines if line.startswith("refused: rasa.core.channels.telegram.TelegramOutput needs "
                                                      "aiogram, which this Rasa process was started without")]
    assert [line for line in lines if line.startswith("refused: aiogram.Bot needs aiogram")]


def test_check_settings_refuses_a_channel_or_store_whose_sdk_is_left_out(tmp_path: Path) -> None:
    without_tensorflow.check_settings(PROJECT_DIR / "credentials.yml", PROJECT_DIR / "endpoints.yml")  # this project's own
    credentials, endpoints = tmp_path / "credentials.yml", tmp_path / "endpoints.yml"
    credentials.write_text("rest: {}\ntelegram: {access_token: x}\n", encoding="utf-8")
    endpoints.write_text("tracker_store: {type: mongod, url: 'mongodb://x'}\n", encoding="utf-8")
    with pytest.raises(without_tensorflow.TensorFlowNotLoaded, match="channel 'telegram', tracker_store 'mongod'"):
        without_tensorflow.check_settings(credentials, endpoints)
    if MODEL.exists():  # the model is checked first
        done = run_python("", "-m", "rasa_addons", "run", "--model", str(MODEL), "--credentials", str(credentials))
        assert done.returncode == 1 and "channel 'telegram'" in done.stderr
