"""rasa_addons.speedups against the installed Rasa: the recorded fingerprints still match Rasa's code (a Rasa upgrade
fails here and names the patch to re-check), the guard refuses a version or code it was not written for and leaves
Rasa alone, `apply()` is idempotent, the shared sessions close when the server stops, and each patch answers the way
Rasa's own code does."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import socket
import subprocess
import sys
import uuid
from typing import Any

import aiohttp
import pytest
from addons_support import PROJECT_DIR
from aiohttp import web

import rasa_addons  # noqa: F401  (applies the patches, as Rasa's import of the REST channel does)
from rasa_addons import speedups

PATCHES = {patch.name: patch for patch in speedups.PATCHES}


def current(target: str) -> Any:
    """What Rasa has under `target` right now (patched or not), exactly as stored."""
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attribute = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return inspect.getattr_static(owner, attribute)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def reapplied() -> Any:
    """Every patch is in place again after the test, as the rest of the suite (and Rasa) expects."""
    yield
    assert all(speedups.apply().values())


# (a) the recorded fingerprints are the installed Rasa's -------------------------------------------------------------

@pytest.mark.parametrize("patch", speedups.PATCHES, ids=lambda patch: patch.name)
def test_each_patch_was_written_for_the_installed_rasa(patch: speedups.Patch) -> None:
    import rasa

    assert rasa.__version__ in patch.rasa_versions, (
        f"Rasa {rasa.__version__} is installed but patch {patch.name!r} was written for {patch.rasa_versions}: "
        "re-check it against this Rasa, then add the version and record the new fingerprints")
    found = speedups.installed_fingerprints(patch)
    changed = sorted(target for target, expected in patch.fingerprints.items() if found[target] != expected)
    assert not changed, (
        f"patch {patch.name!r}: the installed Rasa changed {changed}; re-check the patch against the new code, then "
        f"record its fingerprints: {found}")


def test_every_patch_is_in_place_under_the_installed_rasa() -> None:
    assert speedups.applied() == list(PATCHES)
    for patch in speedups.PATCHES:
        for target in patch.replaces:
            assert getattr(current(target), speedups.MARKER, None) == patch.name


def test_rasa_run_applies_the_patches_before_it_registers_close_resources() -> None:
    # `rasa run --credentials credentials.yml` imports the REST channel (so rasa_addons) in create_http_input_channels,
    # then registers rasa.core.run.close_resources (looked up by name) as its after_server_stop listener.
    script = (
        "import sys\n"
        "import rasa.core.run as run\n"
        "assert 'rasa_addons' not in sys.modules\n"
        "run.create_http_input_channels(None, 'credentials.yml')\n"
        "from rasa_addons import speedups\n"
        "print(','.join(speedups.applied()), getattr(run.close_resources, speedups.MARKER, None))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(PROJECT_DIR), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == [",".join(PATCHES), "shared_sessions"]
    from rasa.core.run import serve_application

    # Rasa's own function, under rasa_addons.forking's wrapper (which notes the model served)
    assert "close_resources" in inspect.unwrap(serve_application).__code__.co_names


# (b) the guard ---------------------------------------------------------------------------------------------------

def test_refusal_checks_the_version_and_every_fingerprint() -> None:
    patch = PATCHES["graph_cache"]
    good = dict(patch.fingerprints)
    assert speedups.refusal(patch, "3.6.21", good) is None

    wrong_version = speedups.refusal(patch, "3.7.0", good)
    assert wrong_version is not None and "3.7.0" in wrong_version and "3.6.21" in wrong_version
    for target in patch.fingerprints:
        changed = speedups.refusal(patch, "3.6.21", {**good, target: "0" * 64})
        assert changed is not None and target in changed
        unreadable = speedups.refusal(patch, "3.6.21", {**good, target: None})
        assert unreadable is not None and target in unreadable
    missing = speedups.refusal(patch, "3.6.21", {})
    assert missing is not None and all(target in missing for target in patch.fingerprints)


@pytest.mark.parametrize("mismatch", ["version", "fingerprint"])
@pytest.mark.parametrize("patch", speedups.PATCHES, ids=lambda patch: patch.name)
def test_a_mismatch_patches_nothing_and_warns(patch: speedups.Patch, mismatch: str, caplog: pytest.LogCaptureFixture,
                                              reapplied: None) -> None:
    speedups.remove(patch.name)
    rasas_own = {target: current(target) for target in patch.replaces}
    assert not any(hasattr(function, speedups.MARKER) for function in rasas_own.values())
    if mismatch == "version":
        guard: dict[str, Any] = {"rasa_version": "3.7.0"}
    else:
        first = next(iter(patch.replaces))
        guard = {"found": {**speedups.installed_fingerprints(patch), first: "0" * 64}}
    logging.getLogger(speedups.__name__).disabled = False

    with caplog.at_level(logging.WARNING, logger=speedups.__name__):
        assert speedups.apply_patch(patch, **guard) is False

    assert {target: current(target) for target in patch.replaces} == rasas_own
    assert all(current(target) is function for target, function in rasas_own.items())
    assert patch.name not in speedups.applied()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == speedups.__name__]
    assert len(warnings) == 1 and repr(patch.name) in warnings[0] and "not applied" in warnings[0]


# (c) apply() once ------------------------------------------------------------------------------------------------

def test_apply_is_idempotent() -> None:
    assert speedups.apply() == dict.fromkeys(PATCHES, True)
    in_place = {target: current(target) for patch in speedups.PATCHES for target in patch.replaces}

    assert speedups.apply() == dict.fromkeys(PATCHES, True)
    assert speedups.apply() == dict.fromkeys(PATCHES, True)

    assert all(current(target) is function for target, function in in_place.items())
    for patch in speedups.PATCHES:
        for target in patch.replaces:
            original = speedups.rasa_original(target)  # what the replacement wraps: Rasa's, not a replacement
            assert not hasattr(original, speedups.MARKER)
            assert speedups.fingerprint(original) == patch.replaces[target]


def test_remove_then_apply_puts_the_same_rasa_code_back(reapplied: None) -> None:
    for patch in speedups.PATCHES:
        speedups.remove(patch.name)
    assert speedups.applied() == []
    for patch in speedups.PATCHES:
        for target, expected in patch.replaces.items():
            assert speedups.fingerprint(current(target)) == expected
    assert speedups.apply() == dict.fromkeys(PATCHES, True)


# (d) shared sessions close when the server stops --------------------------------------------------------------

async def test_shared_sessions_are_closed_when_the_rasa_server_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core import run
    from rasa.utils.endpoints import EndpointConfig
    from sanic import Sanic, response

    # test mode lets several Sanic apps start in one process (as in test_channel.py)
    monkeypatch.setattr(Sanic, "test_mode", True)
    endpoint = EndpointConfig(url="http://127.0.0.1:1/webhook")
    lent: list[Any] = []
    app = Sanic(f"speedups_{uuid.uuid4().hex}")

    @app.post("/call")
    async def call(_: Any) -> Any:
        for _turn in range(2):
            async with endpoint.session() as session:
                lent.append(session)
        return response.json({"open": not lent[-1].closed})

    app.register_listener(run.close_resources, "after_server_stop")  # what rasa.core.run.serve_application does
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    async with aiohttp.ClientSession() as client, client.post(f"http://127.0.0.1:{port}/call") as answer:
        assert await answer.json() == {"open": True}
    assert lent[0] is lent[1], "one session per endpoint and loop, lent to every call"
    assert speedups.shared_session_count() >= 1

    await server.before_stop()
    await server.close()
    await server.after_stop()

    assert lent[0].closed
    async with endpoint.session() as session:  # a call after the stop gets a fresh session, not the closed one
        assert session is not lent[0] and not session.closed
    assert await speedups.close_shared_sessions() == 1
    assert session.closed


async def test_close_resources_closes_the_sessions_even_without_an_agent() -> None:
    from types import SimpleNamespace

    from rasa.core import run
    from rasa.utils.endpoints import EndpointConfig

    endpoints = [EndpointConfig(url=f"http://127.0.0.1:1/{name}") for name in ("actions", "nlg")]
    sessions = []
    for endpoint in endpoints:
        async with endpoint.session() as session:
            sessions.append(session)
    await run.close_resources(SimpleNamespace(ctx=SimpleNamespace()), None)
    assert all(session.closed for session in sessions)
    assert await speedups.close_shared_sessions() == 0


# (e) same results as Rasa's own code ---------------------------------------------------------------------------

def test_the_reused_validator_answers_as_rasa_does() -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    action = RemoteAction("action_check", EndpointConfig(url="http://127.0.0.1:1/webhook"))
    rasas_own = speedups.rasa_original(speedups.VALIDATE_ACTION_RESULT)
    valid = {"events": [{"event": "slot", "name": "step", "value": 2}, {"event": "followup", "name": "utter_x"}],
             "responses": [{"text": "Dạ vâng."}]}
    assert action._validate_action_result(valid) is True
    assert rasas_own(action, valid) is True

    invalid = [
        {"events": "not a list"},
        {"events": [{"event": "slot", "name": 3}], "responses": "not a list"},
        {"events": [{"event": "no_such_event"}], "responses": [1, 2]},
        {"events": [{"name": "missing event"}]},
        [],
    ]
    for reply in invalid:
        with pytest.raises(ValidationError) as ours:
            action._validate_action_result(reply)
        with pytest.raises(ValidationError) as theirs:
            rasas_own(action, reply)
        assert ours.value.message == theirs.value.message
        assert list(ours.value.absolute_path) == list(theirs.value.absolute_path)
        assert list(ours.value.absolute_schema_path) == list(theirs.value.absolute_schema_path)
        assert "Failed to validate Action server response" in ours.value.message


def _tiny_graph(tmp_path: Any) -> tuple[Any, Any]:
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    class Arithmetic(GraphComponent):
        def __init__(self, config: dict[str, Any]) -> None:
            self.config = config

        @classmethod
        def create(cls, config: dict[str, Any], model_storage: Any, resource: Any, execution_context: Any,
                   ) -> Arithmetic:
            return cls(config)

        def scale(self, x: int) -> int:
            return x * self.config["factor"]

        def add(self, a: int, b: int) -> int:
            return a + b

        def unused(self) -> int:
            raise AssertionError("outside the minimal graph")

    def node(fn: str, needs: dict[str, str], **extra: Any) -> SchemaNode:
        return SchemaNode(needs=needs, uses=Arithmetic, constructor_name="create", fn=fn,
                          config={"factor": 3}, **extra)

    schema = GraphSchema({
        "scaled": node("scale", {"x": "__x__"}),
        "total": node("add", {"a": "scaled", "b": "__y__"}, is_target=True),
        "other": node("unused", {}),
    })

    def runner() -> Any:
        return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "speedups-test"))

    return runner(), runner()


def test_the_cached_graph_runs_as_rasa_does(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    from rasa.engine.exceptions import GraphRunError

    ours, theirs = _tiny_graph(tmp_path)
    rasas_own = speedups.rasa_original(speedups.GRAPH_RUN)
    assert getattr(type(ours).run, speedups.MARKER, None) == "graph_cache"

    for inputs, targets in [({"__x__": 2, "__y__": 1}, ["total"]), ({"__x__": 5, "__y__": 10}, None),
                            ({"__x__": 4, "__y__": 0}, ["scaled"]), ({"__x__": 1, "__y__": 1}, ["total", "scaled"]),
                            ({"__x__": 2, "__y__": 1}, ["total"])]:
        assert ours.run(inputs=inputs, targets=targets) == rasas_own(theirs, inputs=inputs, targets=targets)
    assert ours.run(inputs={"__x__": 2, "__y__": 1}) == {"total": 7}
    assert set(ours.__dict__["_resident_graphs"]) == {("total",), ("scaled",), ("total", "scaled")}

    clash = {"inputs": {"__x__": "scaled", "__y__": 1}, "targets": ["total"]}
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        ours.run(**clash)
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        rasas_own(theirs, **clash)

    logging.getLogger("rasa.engine.runner.dask").disabled = False
    with caplog.at_level(logging.DEBUG, logger="rasa.engine.runner.dask"):
        ours.run(inputs={"__x__": 1, "__y__": 2}, targets=["total"])
        rasas_own(theirs, inputs={"__x__": 1, "__y__": 2}, targets=["total"])
    lines = [r.getMessage() for r in caplog.records if r.name == "rasa.engine.runner.dask"]
    assert len(lines) == 2 and lines[0] == lines[1]


def test_a_replayed_graph_calls_the_nodes_in_dasks_order_with_dasks_values(tmp_path: Any) -> None:
    from rasa.engine.exceptions import GraphComponentException
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    calls: list[tuple[str, Any]] = []

    class Step(GraphComponent):
        def __init__(self, config: dict[str, Any]) -> None:
            self.name = config["name"]

        @classmethod
        def create(cls, config: dict[str, Any], model_storage: Any, resource: Any, execution_context: Any) -> Step:
            return cls(config)

        def one(self, x: Any) -> Any:
            calls.append((self.name, x))
            if x == "fail":
                raise ValueError("a component failed")
            if x == "stop":
                raise RuntimeError("dask-level failure")
            return [self.name, x]

        def two(self, a: Any, b: Any) -> Any:
            calls.append((self.name, (a, b)))
            return {"a": a, "b": b}

    def node(name: str, fn: str, needs: dict[str, str], **extra: Any) -> SchemaNode:
        return SchemaNode(needs=needs, uses=Step, constructor_name="create", fn=fn, config={"name": name}, **extra)

    # two independent branches and a provider: the order among them is dask's choice, and must be kept
    schema = GraphSchema({
        "left": node("left", "one", {"x": "__x__"}), "right": node("right", "one", {"x": "__y__"}),
        "deep": node("deep", "one", {"x": "left"}),
        "join": node("join", "two", {"a": "deep", "b": "right"}, is_target=True),
    })

    def runner() -> Any:
        return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "speedups-test"))

    ours, theirs = runner(), runner()
    rasas_own = speedups.rasa_original(speedups.GRAPH_RUN)
    for inputs, targets in [({"__x__": 1, "__y__": 2}, ["join"]), ({"__x__": 3, "__y__": [4]}, ["join"]),
                            ({"__x__": 5, "__y__": 6}, ["join", "right"]), ({"__x__": 7, "__y__": 8}, None)]:
        for _ in range(2):  # the first run of a shape is recorded, the next replayed
            calls.clear()
            mine = ours.run(inputs=inputs, targets=targets)
            our_calls = list(calls)
            calls.clear()
            assert mine == rasas_own(theirs, inputs=inputs, targets=targets)
            assert our_calls == calls and len(calls) == 4
    orders = ours.__dict__["_resident_orders"]
    assert len(orders) == 2 and all(order is not None and len(order) == 4 for order in orders.values())

    for bad in ("fail", "stop"):  # Rasa's graph node wraps whatever a component raises
        for _ in range(2):
            with pytest.raises(GraphComponentException) as mine_error:
                ours.run(inputs={"__x__": 1, "__y__": bad}, targets=["join"])
            with pytest.raises(GraphComponentException) as their_error:
                rasas_own(theirs, inputs={"__x__": 1, "__y__": bad}, targets=["join"])
            assert str(mine_error.value) == str(their_error.value)
            assert type(mine_error.value.__cause__) is type(their_error.value.__cause__)


def test_fast_json_dumps_writes_the_document_json_dumps_writes() -> None:
    import numpy as np
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    tracker = DialogueStateTracker.from_events("r", [
        ActionExecuted("action_listen"),
        UserUttered("quên mật khẩu vneid", {"name": "ask_vneid_troubleshoot", "confidence": 0.9965730458727378},
                    parse_data={"intent_ranking": [{"name": "greet", "confidence": 1.0051366519741944e-05}]}),
        SlotSet("topic", "vneid-troubleshoot"), BotUttered("Dạ", data={"custom": {"kind": "answer", "n": 3}}),
    ])
    state = {"next_action": "action_answer", "tracker": tracker.current_state(EventVerbosity.ALL)}
    assert json.loads(speedups.fast_json_dumps(state)) == json.loads(json.dumps(state))
    numbers = {"a": np.float64(0.1), "b": np.int64(3), "c": 1e-05}
    assert json.loads(speedups.fast_json_dumps(numbers)) == {"a": 0.1, "b": 3, "c": 1e-05}
    assert speedups.fast_json_dumps({"big": 2**70}) == json.dumps({"big": 2**70})  # beyond orjson: json.dumps


async def test_a_shared_session_sends_what_rasa_sends(reapplied: None) -> None:
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append({"method": request.method, "path": request.path, "query": dict(request.query),
                     "auth": request.headers.get("Authorization"), "custom": request.headers.get("X-Resident"),
                     "type": request.headers.get("Content-Type"), "text": await request.text(),
                     "peer": request.transport.get_extra_info("peername")})  # type: ignore[union-attr]
        if request.path.endswith("/fail"):
            return web.Response(status=500, text="boom")
        return web.json_response({"events": [], "responses": [{"text": "ok"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = web.AppRunner(app)
    await server.setup()
    port = free_port()
    await web.TCPSite(server, "127.0.0.1", port).start()
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook", params={"a": "1"}, headers={"X-Resident": "r"},
                              basic_auth={"username": "u", "password": "p"}, token="t")

    async def calls() -> tuple[list[Any], list[dict[str, Any]]]:
        seen.clear()
        answers = [await endpoint.request(json={"next_action": "action_x"}) for _ in range(2)]
        answers.append(await endpoint.request(method="get", subpath="status", content_type=None))
        with pytest.raises(ClientResponseError) as failed:
            await endpoint.request(subpath="fail", json={})
        answers.append((failed.value.status, failed.value.text))
        return answers, list(seen)

    try:
        ours, ours_seen = await calls()
        speedups.remove("shared_sessions")
        theirs, theirs_seen = await calls()
    finally:
        await server.cleanup()
    assert ours == theirs

    def sent(call: dict[str, Any]) -> dict[str, Any]:  # the same JSON document, written with or without spaces
        return {k: v for k, v in call.items() if k not in ("peer", "text")} | {
            "body": json.loads(call["text"]) if call["text"] else None}

    assert [sent(call) for call in ours_seen] == [sent(call) for call in theirs_seen]
    assert ours_seen[0]["text"] == '{"next_action":"action_x"}'  # orjson wrote it (fast_json_dumps)
    assert len({call["peer"] for call in ours_seen}) == 1, "the shared session reuses one connection"
    assert len({call["peer"] for call in theirs_seen}) == len(theirs_seen), "Rasa opens one per call"
    assert await speedups.close_shared_sessions() == 1


def test_the_fortran_ordered_classifier_ranks_as_rasa_does(tmp_path: Any) -> None:
    import numpy as np
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "speedups-test")
    examples = [("kich hoat vneid", "activate"), ("kich hoat tai khoan dinh danh", "activate"),
                ("quen mat khau vneid", "troubleshoot"), ("khong nhan duoc ma otp", "troubleshoot"),
                ("lam giay khai sinh cho con", "birth"), ("dang ky khai sinh online", "birth")]

    def featurised(texts: list[str], featurizer: CountVectorsFeaturizer) -> list[Message]:
        messages = [Message.build(text=t) for t in texts]
        WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
        featurizer.process(messages)
        return messages

    featurizer = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
        storage, Resource("cvf"), context)
    training = TrainingData([Message.build(text=t, intent=i) for t, i in examples])
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(training)
    featurizer.train(training)
    featurizer.process_training_data(training)
    classifier = LogisticRegressionClassifier.create(
        {**LogisticRegressionClassifier.get_default_config(), "max_iter": 200}, storage, Resource("lr"), context)
    classifier.train(training)
    assert not classifier.clf.coef_.flags.f_contiguous

    texts = ["kich hoat vneid the nao", "quen mat khau", "khai sinh cho con", "xin chao"]
    rasas_own = speedups.rasa_original(speedups.LOGREG_PROCESS)
    theirs = [m.get("intent_ranking") for m in rasas_own(classifier, featurised(texts, featurizer))]
    assert getattr(LogisticRegressionClassifier.process, speedups.MARKER, None) == "fortran_coefficients"
    ours = [m.get("intent_ranking") for m in classifier.process(featurised(texts, featurizer))]
    assert classifier.clf.coef_.flags.f_contiguous
    assert ours == theirs  # the same probabilities to the last bit, in the same order
    assert [r[0]["name"] for r in ours[:3]] == ["activate", "troubleshoot", "birth"]
    assert np.isclose(sum(r["confidence"] for r in ours[0]), 1.0)


def test_the_wrapped_process_passes_rasas_graph_validation() -> None:
    # Rasa checks a component's run function by its signature and type hints before training or loading a model
    import typing

    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    ours, theirs = LogisticRegressionClassifier.process, speedups.rasa_original(speedups.LOGREG_PROCESS)
    assert ours is not theirs
    assert inspect.signature(ours) == inspect.signature(theirs)
    assert typing.get_type_hints(ours) == typing.get_type_hints(theirs)


def test_the_sentence_feature_matrix_is_rasas(tmp_path: Any) -> None:
    # both featurizers of config.yml (syllables and character n-grams), plus a dense sentence feature, as Rasa
    # would combine them: the matrix must be Rasa's, entry for entry, in the same sparse format
    import numpy as np
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "speedups-test")
    words = CountVectorsFeaturizer.create({**CountVectorsFeaturizer.get_default_config(), "max_ngram": 2},
                                          storage, Resource("words"), context)
    grams = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
        storage, Resource("grams"), context)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    training = TrainingData([Message.build(text=t, intent="x") for t in
                             ("kich hoat vneid", "quen mat khau vneid", "lam giay khai sinh cho con")])
    tokenizer.process_training_data(training)
    for featurizer in (words, grams):
        featurizer.train(training)

    messages = [Message.build(text=t) for t in ("kich hoat tai khoan vneid the nao", "khai sinh", "xin chao ban")]
    tokenizer.process(messages)
    for featurizer in (words, grams):
        featurizer.process(messages)
    rng = np.random.default_rng(0)
    for message in messages[1:]:  # dense sentence and sequence features on some messages, as a dense featurizer adds
        message.add_features(Features(rng.random((1, 3)), FEATURE_TYPE_SENTENCE, TEXT, "dense-a"))
        message.add_features(Features(rng.random((1, 2)), FEATURE_TYPE_SENTENCE, TEXT, "dense-b"))
        message.add_features(Features(rng.random((2, 3)), FEATURE_TYPE_SEQUENCE, TEXT, "dense-a"))
    assert all(any(f.type == FEATURE_TYPE_SEQUENCE for f in m.features) for m in messages)

    classifier = LogisticRegressionClassifier.create(LogisticRegressionClassifier.get_default_config(), storage,
                                                     Resource("lr"), context)
    assert getattr(LogisticRegressionClassifier._create_X, speedups.MARKER, None) == "sentence_features"
    rasas_own = speedups.rasa_original(speedups.LOGREG_CREATE_X)
    for batch in (messages[:1], messages[1:2], messages[1:]):  # sparse only; sparse and dense; several rows
        ours, theirs = classifier._create_X(batch), rasas_own(classifier, batch)
        assert ours.format == theirs.format and ours.shape == theirs.shape and ours.dtype == theirs.dtype
        assert (ours != theirs).nnz == 0
        assert np.array_equal(ours.toarray(), theirs.toarray())
        theirs_csr, ours_csr = theirs.tocsr(), ours.tocsr()  # what the classifier multiplies: the same arrays
        for name in ("data", "indices", "indptr"):
            mine, rasas = getattr(ours_csr, name), getattr(theirs_csr, name)
            assert mine.dtype == rasas.dtype and np.array_equal(mine, rasas), name


def test_the_event_branches_are_picked_by_the_event_name() -> None:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    split = speedups._event_branches(schema)
    assert split is not None
    base, branches = split
    assert "oneOf" not in base["properties"]["events"]["items"]
    assert {"user", "bot", "slot", "action", "followup", "session_started"} <= set(branches)
    assert len(branches) == len(schema["properties"]["events"]["items"]["oneOf"])
    # not a discriminated union: no dispatch, the full validation decides every reply
    items = schema["properties"]["events"]["items"]
    twice = {**schema, "properties": {**schema["properties"], "events": {
        "type": "array", "items": {**items, "oneOf": [*items["oneOf"], items["oneOf"][0]]}}}}
    unnamed = {**schema, "properties": {**schema["properties"], "events": {
        "type": "array", "items": {**items, "oneOf": [*items["oneOf"], {"properties": {"name": {"type": "string"}}}]}}}}
    assert speedups._event_branches(twice) is None and speedups._event_branches(unnamed) is None


def _serialised_events() -> list[dict[str, Any]]:
    """One of each event an action server can send, as Rasa itself serialises it."""
    from rasa.shared.core import events as ev

    made = [
        ev.UserUttered("xin chào", {"name": "greet", "confidence": 0.9}, [{"entity": "topic", "value": "x"}],
                       message_id="m1", input_channel="rest"),
        ev.BotUttered("Dạ vâng.", {"buttons": [{"title": "Có", "payload": "/affirm"}]}, {"custom": {"kind": "x"}}),
        ev.ActionExecuted("action_answer", policy="RulePolicy", confidence=1.0),
        ev.SlotSet("wt_step", 2), ev.SlotSet("topic", None), ev.FollowupAction("action_handoff"),
        ev.SessionStarted(), ev.ActiveLoop("form"), ev.ActiveLoop(None), ev.Restarted(), ev.AllSlotsReset(),
        ev.ConversationPaused(), ev.ConversationResumed(), ev.UserUtteranceReverted(), ev.ActionReverted(),
        ev.ReminderScheduled("remind", trigger_date_time=__import__("datetime").datetime(2026, 12, 6, 8)),
        ev.ReminderCancelled(name="remind"), ev.ActionExecutionRejected("action_x"), ev.LoopInterrupted(True),
        ev.EntitiesAdded([{"entity": "topic", "value": "x"}]), ev.DefinePrevUserUtteredFeaturization(False),
        ev.AgentUttered("hi"), ev.StoryExported(),
    ]
    return [e.as_dict() for e in made]


def test_dispatched_validation_accepts_exactly_what_the_full_schema_accepts() -> None:
    import copy

    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    action = RemoteAction("action_check", EndpointConfig(url="http://127.0.0.1:1/webhook"))
    rasas_own = speedups.rasa_original(speedups.VALIDATE_ACTION_RESULT)
    good = _serialised_events()
    assert len({e["event"] for e in good}) >= 20
    replies: list[Any] = [{"events": good, "responses": [{"text": "Dạ."}]}, {"events": []}, {}, {"responses": []}]
    for event in good:  # each event alone, and spoiled one field at a time
        replies.append({"events": [event]})
        for key in event:
            for spoiled in (None, 3, "x", [], {}, True):
                broken = copy.deepcopy(event)
                broken[key] = spoiled
                replies.append({"events": [good[0], broken]})
            missing = {k: v for k, v in event.items() if k != key}
            replies.append({"events": [missing]})
    replies += [{"events": [{"event": "no_such_event"}]}, {"events": [1]}, {"events": None}, [], "x",
                {"events": [{"event": "slot", "value": 1}]}, {"events": [{"event": "user", "parse_data": []}]}]
    verdicts = set()
    for reply in replies:
        try:
            theirs: Any = rasas_own(action, copy.deepcopy(reply))
        except ValidationError as error:
            theirs = (error.message, list(error.absolute_path), list(error.absolute_schema_path))
        try:
            ours: Any = action._validate_action_result(copy.deepcopy(reply))
        except ValidationError as error:
            ours = (error.message, list(error.absolute_path), list(error.absolute_schema_path))
        assert ours == theirs, reply
        verdicts.add(ours is True)
    assert verdicts == {True, False}


def test_the_rule_lookup_keeps_the_keys_rasa_keeps(tmp_path: Any) -> None:
    import json
    import random

    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.constants import SHOULD_NOT_BE_SET

    policy = RulePolicy.create(RulePolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("rules"),
                               ExecutionContext(GraphSchema({}), "speedups-test"))
    assert getattr(RulePolicy._get_possible_keys, speedups.MARKER, None) == "rule_lookup"
    rasas_own = speedups.rasa_original(speedups.RULE_POSSIBLE_KEYS)
    rng = random.Random(13)
    actions, intents, slots = ["action_listen", "action_answer", "utter_greet"], ["greet", "ask_x", "affirm"], ["a", "b"]

    def state(rule: bool) -> dict[str, Any]:
        made: dict[str, Any] = {}
        if rng.random() < 0.8:  # no previous action: a conversation start
            made["prev_action"] = ({"action_name": rng.choice(actions)} if rng.random() < 0.9
                                   else {"action_text": rng.choice(intents)})
        if rng.random() < 0.7:
            unset = rule and rng.random() < 0.15
            made["user"] = {"intent": SHOULD_NOT_BE_SET if unset else rng.choice(intents)} if rng.random() < 0.9 \
                else {"text": rng.choice(intents)}
        if rng.random() < 0.4:
            name = rng.choice(slots)
            made["slots"] = {name: SHOULD_NOT_BE_SET if rule and rng.random() < 0.3 else (1.0,)}
        return made

    kept_some = emptied = 0
    for _ in range(600):
        rules = {json.dumps([state(True) for _ in range(rng.randint(1, 4))]): rng.choice(actions)
                 for _ in range(rng.randint(0, 25))}
        for _ in range(3):  # the same lookup again (its plan is kept), then changed in place (made anew)
            conversation = [state(False) for _ in range(rng.randint(0, 12))]
            ours, theirs = policy._get_possible_keys(rules, conversation), rasas_own(policy, rules, conversation)
            assert ours == theirs
            kept_some += bool(ours)
            emptied += bool(rules) and not ours
            rules[json.dumps([state(True)])] = "action_listen"
    assert kept_some > 50 and emptied > 50  # both outcomes were exercised


def test_the_replayed_states_are_rasas_as_a_conversation_grows() -> None:
    import copy
    import random

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionExecutionRejected,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        DefinePrevUserUtteredFeaturization,
        EntitiesAdded,
        FollowupAction,
        LoopInterrupted,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    assert getattr(Domain.states_for_tracker_history, speedups.MARKER, None) == "state_replay"
    rasas_own = speedups.rasa_original(speedups.STATES_FOR_HISTORY)
    mapping = [{"type": "custom"}]
    domain = Domain.from_dict({
        "intents": ["greet", "ask_fee", "affirm", "deny"],
        "entities": ["topic", "place"],
        "slots": {
            "topic": {"type": "categorical", "values": ["cccd", "vneid"], "mappings": mapping},
            "done": {"type": "bool", "mappings": mapping},
            "step": {"type": "float", "min_value": 0, "max_value": 5, "mappings": mapping},
            "note": {"type": "text", "mappings": mapping},
            "quiet": {"type": "text", "influence_conversation": False, "mappings": mapping},
            "seen": {"type": "list", "mappings": mapping},
        },
        "actions": ["action_answer", "action_walk", "utter_greet"],
        "forms": {"rating_form": {"required_slots": ["done"]}},
        "responses": {"utter_greet": [{"text": "Chào anh/chị"}]},
    })
    rng = random.Random(7)
    actions = ["action_listen", "action_answer", "action_walk", "utter_greet", "rating_form", None]
    values = {"topic": ["cccd", "vneid", None], "done": [True, False, None], "step": [0.0, 2.5, 5.0, None],
              "note": ["x", None], "quiet": ["y"], "seen": [["a"], [], None]}

    def event() -> Any:
        kind = rng.random()
        if kind < 0.25:
            entities = [{"entity": rng.choice(["topic", "place"]), "value": "v"} for _ in range(rng.randint(0, 2))]
            if entities and rng.random() < 0.3:
                entities[0]["role"] = "r"
            return UserUttered(rng.choice(["xin chao", "phi bao nhieu", ""]),
                               {"name": rng.choice(["greet", "ask_fee", "affirm", "deny"]), "confidence": 1.0},
                               entities)
        if kind < 0.55:
            name = rng.choice(actions)
            return ActionExecuted(name, action_text=None if name else "Chào anh/chị")
        if kind < 0.75:
            slot = rng.choice(list(values))
            return SlotSet(slot, rng.choice(values[slot]))
        return rng.choice([
            lambda: ActiveLoop(rng.choice(["rating_form", None])), lambda: Restarted(), lambda: SessionStarted(),
            lambda: UserUtteranceReverted(), lambda: ActionReverted(), lambda: FollowupAction("action_answer"),
            lambda: DefinePrevUserUtteredFeaturization(rng.random() < 0.5), lambda: BotUttered("ok"),
            lambda: LoopInterrupted(rng.random() < 0.5), lambda: ActionExecutionRejected("rating_form"),
            lambda: EntitiesAdded([{"entity": "place", "value": "xa"}]),
        ])()

    # Rasa's replay changes shared user messages in place (`EntitiesAdded`, `DefinePrevUserUtteredFeaturization`),
    # so calling it twice can answer differently: each side gets its own copy of every event and the same calls
    compared = extended = 0
    for _ in range(150):
        ours_tracker, rasas_tracker = (DialogueStateTracker.from_events("resident", [], domain.slots) for _ in "ab")
        for _ in range(rng.randint(1, 80)):
            new = event()
            ours_tracker.update(copy.deepcopy(new), domain)
            rasas_tracker.update(copy.deepcopy(new), domain)
            if rng.random() < 0.35:
                omit = rng.random() < 0.2
                before = ours_tracker.__dict__.get(speedups._STATE_REPLAY)
                ours = ours_tracker.past_states(domain, omit_unset_slots=omit)
                extended += before is not None and ours_tracker.__dict__.get(speedups._STATE_REPLAY) is before
                theirs = rasas_own(domain, rasas_tracker, omit_unset_slots=omit)
                assert ours == theirs
                compared += 1
                for states in (ours, theirs):  # what callers do to the states they get must not reach a kept replay
                    for state in states:
                        for sub_state in state.values():
                            sub_state.clear()
                        state.clear()
        only_rules = {"slots": ["note"]}
        assert ours_tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=only_rules) == \
            rasas_own(domain, rasas_tracker, ignore_rule_only_turns=True, rule_only_data=only_rules)
    assert compared > 1000 and extended > 500  # both the continued and the new replays were exercised
