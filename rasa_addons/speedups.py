"""Five speed-ups for Rasa 3.6.21 hot spots found by profiling (`py-spy` on `rasa run` under 20 concurrent residents).

Each patch replaces Rasa functions with faster ones that give the same results:

1. ``validator_reuse`` replaces `RemoteAction._validate_action_result`. Rasa calls `jsonschema.validate()` on every
   custom-action reply, which checks the (large) response schema itself each time: about 70% of Rasa's CPU per turn
   here. The schema never changes, so it is checked once at `apply()` and one validator is reused. An invalid reply
   raises the same `ValidationError` as before (jsonschema's `best_match`, with Rasa's extra sentence).
2. ``graph_cache`` replaces `DaskGraphRunner.run`. Rasa rebuilds the minimal graph (a recursive walk) and formats a
   debug f-string holding the message and the whole tracker on every NLU parse and every policy prediction, whether
   debug logging is on or not. The graph for given targets never changes, so it is built once per runner and target
   list; the log line is formatted only when debug logging is enabled.
3. ``shared_sessions`` replaces `EndpointConfig.session` and `rasa.core.run.close_resources`. Rasa opens a new aiohttp
   session (and TCP connection) for every request to an endpoint: every custom-action call (and every NLG or
   model-server request, when those endpoints are configured; this project configures neither). Here each endpoint
   keeps one session per event loop and lends it out (`async with endpoint.session()` no longer closes it); outside
   a running loop Rasa's own session is returned. The shared sessions are closed when Rasa's server stops: Rasa
   registers `close_resources` as a Sanic `after_server_stop` listener in `serve_application`, and the replacement
   runs Rasa's own `close_resources` and then `close_shared_sessions()`.
4. ``fortran_coefficients`` wraps `LogisticRegressionClassifier.process`. scikit-learn scores a message as
   `X @ coef_.T`; for a sparse X, scipy flattens the dense operand in C order, and `coef_.T` of the C-ordered
   `coef_` is not, so every parse copied the whole intents × features matrix (45 × 28,103 floats here): about a fifth
   of Rasa's CPU per turn. The wrapper stores `coef_` in Fortran order once (its transpose is then C-ordered, the copy
   is gone) and calls Rasa's own `process`: the same arithmetic on the same numbers, so the same probabilities to the
   last bit, about 30× faster.

5. ``sentence_features`` replaces `LogisticRegressionClassifier._create_X`. Rasa builds the classifier's input from
   `Message.get_sparse_features(TEXT)[1]` and `get_dense_features(TEXT)[1]`: each call deep-copies and concatenates
   the message's *sequence* features too (one row per token, for both count-vector featurizers) and then throws
   them away, since the classifier reads only the sentence features. The replacement concatenates the sentence
   features alone, in the same order, with the same scipy and numpy calls (no copy: the stacking makes new arrays),
   so the matrix is the same to the last bit: about a twentieth of Rasa's CPU per turn.

Guard. A patch is applied only to the Rasa versions it was written for (`Patch.rasa_versions`, 3.6.21) and only when
the installed code it replaces or relies on is the code it was written against: `Patch.fingerprints` holds, per
function, the sha256 of its normalised source (`fingerprint()`). `refusal()` is the pure check; when it objects,
`apply_patch()` logs a warning naming the patch and leaves Rasa's own code in place (these are speed-ups, never
needed for correctness). tests/rasa_addons/test_speedups.py fails on a Rasa upgrade and names the patch to re-check.

Importing this module patches nothing. `rasa_addons/__init__.py` calls `apply()` (idempotent) when Rasa imports the
package, which `rasa run --credentials credentials.yml` does (to load the REST channel) before it registers
`close_resources`, so the patched one is the listener; `remove(name)` puts Rasa's own functions back.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import logging
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

RASA_VERSIONS = ("3.6.21",)
# Set on every replacement function: the patch it belongs to.
MARKER = "__rasa_addons_speedup__"
_SESSION, _LOOP, _GRAPHS = "_resident_session", "_resident_loop", "_resident_graphs"


@dataclass(frozen=True)
class Patch:
    """One speed-up: what it replaces, the Rasa it was written for, and how to build the replacements."""

    name: str
    rasa_versions: tuple[str, ...]
    # "module:Qual.name" -> fingerprint of the Rasa function the patch replaces
    replaces: Mapping[str, str]
    # "module:Qual.name" -> fingerprint of code the replacements assume unchanged (callers, helpers)
    relies_on: Mapping[str, str]
    # Rasa's originals (keys of `replaces`) -> the replacements (same keys)
    build: Callable[[Mapping[str, Any]], Mapping[str, Any]]

    @property
    def fingerprints(self) -> dict[str, str]:
        return {**self.replaces, **self.relies_on}


def fingerprint(function: Any) -> str:
    """sha256 of a function's source, dedented, trailing spaces and blank lines dropped."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = [line.rstrip() for line in source.splitlines() if line.strip()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def refusal(patch: Patch, rasa_version: str, found: Mapping[str, str | None]) -> str | None:
    """Why `patch` must not be applied to this Rasa, or None when it may.

    `found` maps each of the patch's targets to the fingerprint of the installed code (None: source unreadable).
    """
    if rasa_version not in patch.rasa_versions:
        return f"written for Rasa {', '.join(patch.rasa_versions)}, installed Rasa is {rasa_version}"
    changed = [target for target, expected in patch.fingerprints.items() if found.get(target) != expected]
    if changed:
        return f"the installed code differs from the code it was written against: {', '.join(changed)}"
    return None


def _owner_and_attribute(target: str) -> tuple[Any, str]:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attribute = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute


# patch name -> {target: the attribute it replaced, exactly as found (for remove())}
_applied: dict[str, dict[str, Any]] = {}


def rasa_original(target: str) -> Any:
    """The installed Rasa's own function for `target`, whether or not a patch replaced it."""
    for replaced in _applied.values():
        if target in replaced:
            return replaced[target]
    owner, attribute = _owner_and_attribute(target)
    return getattr(owner, attribute)


def installed_fingerprints(patch: Patch) -> dict[str, str | None]:
    """The fingerprints of the installed code behind each of the patch's targets (None where unreadable)."""
    found: dict[str, str | None] = {}
    for target in patch.fingerprints:
        try:
            found[target] = fingerprint(rasa_original(target))
        except (AttributeError, ImportError, OSError, TypeError):
            found[target] = None
    return found


def _installed_rasa_version() -> str:
    import rasa

    return rasa.__version__


def apply_patch(patch: Patch, rasa_version: str | None = None, found: Mapping[str, str | None] | None = None) -> bool:
    """Apply one patch unless `refusal` objects (then warn and keep Rasa's code); True when it is in place.

    `rasa_version` and `found` default to the installed Rasa's; tests pass others to see the guard refuse.
    """
    if patch.name in _applied:
        return True
    version = _installed_rasa_version() if rasa_version is None else rasa_version
    reason = refusal(patch, version, installed_fingerprints(patch) if found is None else found)
    if reason is not None:
        logger.warning("rasa_addons.speedups: patch %r not applied (%s); Rasa's own code runs instead. Re-check the "
                       "patch against this Rasa, then update its versions and fingerprints.", patch.name, reason)
        return False
    replaced: dict[str, Any] = {}
    originals: dict[str, Any] = {}
    for target in patch.replaces:
        owner, attribute = _owner_and_attribute(target)
        replaced[target] = inspect.getattr_static(owner, attribute)
        originals[target] = getattr(owner, attribute)
    replacements = patch.build(originals)
    for target, replacement in replacements.items():
        setattr(replacement, MARKER, patch.name)
        owner, attribute = _owner_and_attribute(target)
        setattr(owner, attribute, replacement)
    _applied[patch.name] = replaced
    logger.debug("rasa_addons.speedups: patch %r applied to Rasa %s", patch.name, version)
    return True


def remove(name: str) -> None:
    """Put Rasa's own functions back for one patch (no-op when it is not applied)."""
    for target, original in _applied.pop(name, {}).items():
        owner, attribute = _owner_and_attribute(target)
        setattr(owner, attribute, original)


def applied() -> list[str]:
    """Names of the patches in place."""
    return [patch.name for patch in PATCHES if patch.name in _applied]


def apply() -> dict[str, bool]:
    """Apply every patch the installed Rasa allows, once per process (idempotent); patch name -> in place."""
    return {patch.name: apply_patch(patch) for patch in PATCHES}


# 1. validator_reuse ------------------------------------------------------------------------------------------------

def _build_validator_reuse(originals: Mapping[str, Any]) -> dict[str, Any]:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions import action

    schema = action.RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {action.DOCS_BASE_URL}/custom-actions"
        )
        raise error

    return {VALIDATE_ACTION_RESULT: _validate_action_result}


# 2. graph_cache ----------------------------------------------------------------------------------------------------

def _build_graph_cache(originals: Mapping[str, Any]) -> dict[str, Any]:
    import dask
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner import dask as dask_runner

    log = dask_runner.logger

    def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
        """Runs the graph (see parent class for full docstring); the graph per target list is built once."""
        run_targets = targets if targets else self._graph_schema.target_names
        cache = self.__dict__.setdefault(_GRAPHS, {})
        key = tuple(run_targets)
        if key not in cache:
            cache[key] = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
        run_graph = dict(cache[key])
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
        try:
            return dict(dask.get(run_graph, run_targets))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e

    return {GRAPH_RUN: run}


# 3. shared_sessions ------------------------------------------------------------------------------------------------

class _Borrowed:
    """`async with` over a long-lived session that does not close it on exit."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *_: Any) -> bool:
        return False


# every shared session with the loop it belongs to, for close_shared_sessions()
_shared_sessions: list[tuple[asyncio.AbstractEventLoop, Any]] = []


def _keep(loop: asyncio.AbstractEventLoop, session: Any) -> None:
    # sessions already closed, or of a loop that is gone, cannot be closed any more: forget them
    _shared_sessions[:] = [(lp, s) for lp, s in _shared_sessions if not s.closed and not lp.is_closed()]
    _shared_sessions.append((loop, session))


def shared_session_count() -> int:
    """How many shared sessions are open (any loop)."""
    return sum(1 for _, session in _shared_sessions if not session.closed)


async def close_shared_sessions() -> int:
    """Close the shared sessions of the running event loop; the number closed. Rasa's server stop calls this."""
    loop = asyncio.get_running_loop()
    mine = [session for lp, session in _shared_sessions if lp is loop]
    _shared_sessions[:] = [(lp, s) for lp, s in _shared_sessions if lp is not loop and not lp.is_closed()]
    closed = 0
    for session in mine:
        if not session.closed:
            await session.close()
            closed += 1
    return closed


def _build_shared_sessions(originals: Mapping[str, Any]) -> dict[str, Any]:
    make_session = originals[ENDPOINT_SESSION]
    rasa_close_resources = originals[CLOSE_RESOURCES]

    def session(self: Any) -> Any:
        """The endpoint's shared aiohttp session for the running loop, lent by `async with` (not closed on exit)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return make_session(self)
        shared = self.__dict__.get(_SESSION)
        if shared is None or shared.closed or self.__dict__.get(_LOOP) is not loop:
            shared = make_session(self)
            self.__dict__[_SESSION], self.__dict__[_LOOP] = shared, loop
            _keep(loop, shared)
        return _Borrowed(shared)

    async def close_resources(app: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Rasa's `close_resources` (after_server_stop), then the shared endpoint sessions of this loop."""
        try:
            await rasa_close_resources(app, loop)
        finally:
            closed = await close_shared_sessions()
            logger.debug("rasa_addons.speedups: closed %d shared HTTP session(s) on server stop", closed)

    return {ENDPOINT_SESSION: session, CLOSE_RESOURCES: close_resources}


# 4. fortran_coefficients -------------------------------------------------------------------------------------------

def _build_fortran_coefficients(originals: Mapping[str, Any]) -> dict[str, Any]:
    import functools

    import numpy as np

    rasa_process = originals[LOGREG_PROCESS]

    # Rasa's graph validation reads the run function's signature and type hints: wraps() keeps Rasa's own
    @functools.wraps(rasa_process)
    def process(self: Any, messages: list[Any]) -> list[Any]:
        """Rasa's `process`, with `coef_` in Fortran order."""
        coef = getattr(self.clf, "coef_", None)  # absent before training
        if isinstance(coef, np.ndarray) and not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)
        return rasa_process(self, messages)  # type: ignore[no-any-return]

    return {LOGREG_PROCESS: process}


# 5. sentence_features ----------------------------------------------------------------------------------------------

def _build_sentence_features(originals: Mapping[str, Any]) -> dict[str, Any]:
    import functools

    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from scipy.sparse import csr_matrix, hstack, vstack

    def combined(features: list[Any], dense: bool) -> Any:
        """What Message._combine_features leaves in `.features`: the first, then each next one appended."""
        matrix = features[0].features
        for more in features[1:]:
            matrix = np.concatenate((matrix, more.features), axis=-1) if dense else hstack([matrix, more.features])
        return matrix

    @functools.wraps(originals[LOGREG_CREATE_X])
    def _create_X(self: Any, messages: list[Any]) -> Any:  # noqa: N802 (Rasa's name)
        """Rasa's matrix from the TEXT sentence features, without combining the unused sequence features."""
        rows = []
        for message in messages:
            sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            sparse = [f for f in sentence if f.is_sparse()]
            dense = [f for f in sentence if not f.is_sparse()]
            rows.append(hstack([
                csr_matrix(combined(sparse, dense=False) if sparse else []),
                csr_matrix(combined(dense, dense=True) if dense else []),
            ]))
        return vstack(rows)

    return {LOGREG_CREATE_X: _create_X}


# The patches ---------------------------------------------------------------------------------------------------------

VALIDATE_ACTION_RESULT = "rasa.core.actions.action:RemoteAction._validate_action_result"
GRAPH_RUN = "rasa.engine.runner.dask:DaskGraphRunner.run"
ENDPOINT_SESSION = "rasa.utils.endpoints:EndpointConfig.session"
CLOSE_RESOURCES = "rasa.core.run:close_resources"
LOGREG_PROCESS = "rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier.process"
LOGREG_CREATE_X = "rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier._create_X"

PATCHES: tuple[Patch, ...] = (
    Patch(
        name="validator_reuse",
        rasa_versions=RASA_VERSIONS,
        replaces={VALIDATE_ACTION_RESULT: "a89171f844a8c31ef5bb2e5e518a4a618ef94ed35cda928526604287e0b026f2"},
        relies_on={
            # the schema is read once: it must stay a constant
            "rasa.core.actions.action:RemoteAction.action_response_format_spec":
                "bd9a3e8808557dea9e2b541f3f606464afd8ecf15b5a34e0c1b29b49bed20001",
            # the error raised is jsonschema.validate's: best_match over iter_errors
            "jsonschema.validators:validate": "9ef28def77cb25cb2edbd9b83cf5654705c646289966c1a11a8afe628893adda",
        },
        build=_build_validator_reuse,
    ),
    Patch(
        name="graph_cache",
        rasa_versions=RASA_VERSIONS,
        replaces={GRAPH_RUN: "4c87724db9601c2dfada20f384f421a284e7faf0bbbbdc91f6b93691b93ac0cb"},
        relies_on={
            # the cached graph must depend only on the schema and the nodes made in __init__
            "rasa.engine.runner.dask:DaskGraphRunner._build_dask_graph":
                "3e97521bef8dbb60559dac331749ed5909fec7c36f5502c3eeec92aed853c6f6",
            "rasa.engine.graph:GraphSchema.minimal_graph_schema":
                "cd5a6accc7694db9efdd2e6cd4206b57249253f56971f6759bf06e93208c5840",
        },
        build=_build_graph_cache,
    ),
    Patch(
        name="shared_sessions",
        rasa_versions=RASA_VERSIONS,
        replaces={
            ENDPOINT_SESSION: "9025882f308877867dc21ab4a1b3e23898a8c6f2eb4fb198cfd3d8cce3c43fb2",
            CLOSE_RESOURCES: "1be003fbb3b058e38698cb43d98ca8ed8565b761f5e16d909b779409ac78148e",
        },
        relies_on={
            # the only callers of EndpointConfig.session, both as `async with endpoint.session() as session`
            "rasa.utils.endpoints:EndpointConfig.request": "80c428cd21293bb3ce3ac3ee21576e05c7789b85a1458b3b2542db79a14d3a09",
            "rasa.core.agent:_pull_model_and_fingerprint": "35e3a0e37d552196b1e3c3c1c757efe0ac0fb4e570ee57fc024b58b0f3f6ab13",
            # registers close_resources (looked up at call time) as the after_server_stop listener
            "rasa.core.run:serve_application": "13179300ac625f2a1519f892d9f31d32641e3a6a469c0777806a7f937c635161",
        },
        build=_build_shared_sessions,
    ),
    Patch(
        name="fortran_coefficients",
        rasa_versions=RASA_VERSIONS,
        replaces={LOGREG_PROCESS: "9925823f7741868975e23e63bc6dbaaa1c52230d31a5743a1847afe9344a1365"},
        relies_on={},
        build=_build_fortran_coefficients,
    ),
    Patch(
        name="sentence_features",
        rasa_versions=RASA_VERSIONS,
        replaces={LOGREG_CREATE_X: "e2af56ef87714977128c2b624981eb75492c002f704446b8b78fac2bc0f6370b"},
        relies_on={
            # [1] of each is the combination of the sentence features alone, combined in `features` order
            "rasa.shared.nlu.training_data.message:Message.get_sparse_features":
                "532415019bb25435fc6e79b572c3856ad9c195f07b6dab795175d1fb8dddf19f",
            "rasa.shared.nlu.training_data.message:Message.get_dense_features":
                "65d5c8fa5e2125fc5f171e129bb99fd8766f86e99d2392451d93555ee8900d6e",
            "rasa.shared.nlu.training_data.message:Message._filter_sparse_features":
                "da36e031acfa1b6d032518c29b0529950890cfeba4882f9f7e26a939cb7261a4",
            "rasa.shared.nlu.training_data.message:Message._filter_dense_features":
                "068292bb45e361670b3e74e508ebd33f32c55b1d5846c4ec40a430ddfee63d6d",
            "rasa.shared.nlu.training_data.message:Message._combine_features":
                "d7e3c350a59494c966b0541a06ac542ed51f64a24128996c608578acfb2f21a1",
            "rasa.shared.nlu.training_data.features:Features.combine_with_features":
                "e40b876911a4bc92a74e90d46c63d9af8f9cca2b73d12057f37437c027445733",
            "rasa.shared.nlu.training_data.features:Features._combine_dense_features":
                "0941d41ddd78a5c834c4f9475e6d14f25ee47498208d71d62edba97abf4746a5",
            "rasa.shared.nlu.training_data.features:Features._combine_sparse_features":
                "55b24e93c603c8ba6010c363897f148c26fd93b36418a22bd9ee94a5db004c13",
        },
        build=_build_sentence_features,
    ),
)
