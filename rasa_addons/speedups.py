"""Seven speed-ups for Rasa 3.6.21 hot spots found by profiling (`py-spy` on `rasa run` under 20 concurrent residents).

Each patch replaces Rasa functions with faster ones that give the same results:

1. ``validator_reuse`` replaces `RemoteAction._validate_action_result`. Rasa calls `jsonschema.validate()` on every
   custom-action reply, which checks the (large) response schema itself each time: about 70% of Rasa's CPU per turn
   here. The schema never changes, so it is checked once at `apply()` and one validator is reused. Each event is
   then checked against the one branch of the events' `oneOf` that its name picks (every branch pins `event` to its
   own constant, so no other branch can match; `_event_branches` checks that at `apply()`), instead of against all
   23: a reply that passes is valid under the full schema. Anything else goes through the full validation, so an
   invalid reply raises the same `ValidationError` as before (jsonschema's `best_match`, with Rasa's extra sentence).
2. ``graph_cache`` replaces `DaskGraphRunner.run`. Rasa rebuilds the minimal graph (a recursive walk) and formats a
   debug f-string holding the message and the whole tracker on every NLU parse and every policy prediction, whether
   debug logging is on or not. The graph for given targets never changes, so it is built once per runner and target
   list; the log line is formatted only when debug logging is enabled. Dask's scheduler itself (ordering the graph,
   its state machine, a queue and a future per task) took a tenth of Rasa's CPU per turn for graphs of 4 and 10
   nodes. The first run of a graph shape (targets and input names) goes through `dask.get` and records the order
   its scheduler ran the tasks in; later runs call the same tasks in that order, each with the values of the nodes
   it names, as dask does (a graph of any other shape always goes through dask).
3. ``shared_sessions`` replaces `EndpointConfig.session` and `rasa.core.run.close_resources`. Rasa opens a new aiohttp
   session (and TCP connection) for every request to an endpoint: every custom-action call (and every NLG or
   model-server request, when those endpoints are configured; this project configures neither). Here each endpoint
   keeps one session per event loop and lends it out (`async with endpoint.session()` no longer closes it); outside
   a running loop Rasa's own session is returned. The shared sessions are closed when Rasa's server stops: Rasa
   registers `close_resources` as a Sanic `after_server_stop` listener in `serve_application`, and the replacement
   runs Rasa's own `close_resources` and then `close_shared_sessions()`. A shared session writes its JSON bodies
   with orjson (`fast_json_dumps`): the conversation Rasa sends with every custom-action call (about 38 kB) took
   0.7 ms a call through `json.dumps`, 0.07 ms through orjson; the same JSON, without the spaces (a value orjson
   cannot write, an integer beyond 64 bits say, goes through `json.dumps`).
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
   so the matrix is the same to the last bit: about a twentieth of Rasa's CPU per turn. For one message with sparse
   sentence features only (every parse here), scipy's stacking of 1-row blocks (about 1 ms) is skipped: the CSR
   arrays it would make (entries in column order, float64, 32-bit indices) are built directly.
6. ``rule_lookup`` replaces `RulePolicy._get_possible_keys`. Rasa checks every rule key (134 here) against the
   conversation's states, newest first, twice a turn, with `_is_rule_applicable`. The replacement calls it only
   where it could say no. A key as short as the turn index or shorter stays (its first check), and the loop stops
   once no remaining key is longer. A key whose state at that turn has a previous action and requires a text value
   (the user's intent, else the previous action's name) the conversation's state lacks goes, as
   `_does_rule_match_state` would decide; the keys are indexed by that value once per lookup (`_RulePlan`). The
   remaining keys get Rasa's own check, so the same keys come back (a randomised test compares both).
7. ``state_replay`` replaces `Domain.states_for_tracker_history` (`tracker.past_states`). RulePolicy asks for the
   conversation's states three times a turn (by text and by intent after the resident's message, by intent after
   the action), and Rasa replays every applied event on a new tracker each time. The replacement keeps the replay
   on the tracker object and, when the tracker only gained events since (nothing reverted, undone or restarted),
   replays just those; it hands out new dicts for every state. Rasa's replay reads user messages that
   `EntitiesAdded` and `DefinePrevUserUtteredFeaturization` change in place, so a kept state is trusted only while
   its user message reads the same. `ignore_rule_only_turns` (ML policies) and other tracker classes get Rasa's code.

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
import json
import logging
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

logger = logging.getLogger(__name__)

RASA_VERSIONS = ("3.6.21",)
# Set on every replacement function: the patch it belongs to.
MARKER = "__rasa_addons_speedup__"
_SESSION, _LOOP, _GRAPHS = "_resident_session", "_resident_loop", "_resident_graphs"
_RULE_PLANS = "_resident_rule_plans"
_ORDERS = "_resident_orders"
_STATE_REPLAY = "_resident_state_replay"


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

def _event_branches(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The response schema split for dispatch: (the schema without the events' `oneOf`, event name → its branch).

    None unless every branch of the events' `oneOf` pins `event` to its own constant: only then does an event
    match at most the one branch its name picks, so checking that branch alone gives the `oneOf` verdict.
    """
    events = schema.get("properties", {}).get("events", {})
    items = events.get("items") if isinstance(events, Mapping) else None
    if not isinstance(items, Mapping) or "oneOf" not in items or "event" not in items.get("required", ()):
        return None
    branches: dict[str, Any] = {}
    for branch in items["oneOf"]:
        name = branch.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in branches:
            return None
        branches[name] = branch
    base = {**schema, "properties": {**schema["properties"],
                                     "events": {**events, "items": {k: v for k, v in items.items() if k != "oneOf"}}}}
    return base, branches


def _build_validator_reuse(originals: Mapping[str, Any]) -> dict[str, Any]:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions import action

    schema = action.RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    split = _event_branches(schema)
    base = cls(split[0]) if split else None
    branches = {name: cls(branch) for name, branch in split[1].items()} if split else {}

    def dispatched_valid(result: Any) -> bool:
        """True only when `result` is valid: the schema without the events' `oneOf`, then each event against the
        one branch its name picks. False means "not shown valid": the full validation decides."""
        if base is None or not base.is_valid(result):
            return False
        for event in result.get("events") or ():
            branch = branches.get(event["event"])
            if branch is None or not branch.is_valid(event):
                return False
        return True

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        if dispatched_valid(result):
            return True
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
    from dask.callbacks import Callback
    from dask.core import istask
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner import dask as dask_runner

    log = dask_runner.logger

    def recorded(run_graph: dict[str, Any], run_targets: list[str]) -> tuple[tuple[str, ...] | None, Any]:
        """Run the graph with dask, recording the order its synchronous scheduler ran the tasks in; (that order, or
        None when the graph holds anything but Rasa's shape, and dask's result)."""
        order: list[str] = []
        with Callback(pretask=lambda key, dsk, state: order.append(key)):
            result = dask.get(run_graph, run_targets)
        tasks = [key for key, value in run_graph.items() if istask(value)]
        rasas_shape = sorted(order) == sorted(tasks) and all(
            isinstance(arg, str) and arg in run_graph for key in tasks for arg in run_graph[key][1:])
        return (tuple(order) if rasas_shape else None), result

    def replayed(run_graph: dict[str, Any], order: tuple[str, ...], run_targets: list[str]) -> tuple[Any, ...]:
        """What dask.get returns, computed by calling the tasks in the order dask ran them for this graph."""
        values = {key: value for key, value in run_graph.items() if not istask(value)}
        for key in order:
            task = run_graph[key]
            values[key] = task[0](*[values[arg] for arg in task[1:]])
        return tuple(values[target] for target in run_targets)

    def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
        """Runs the graph (see parent class for full docstring); the graph per target list is built once, and run
        in the order dask chose for it the first time."""
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
        orders = self.__dict__.setdefault(_ORDERS, {})
        shape = (key, tuple(inputs or ()))
        try:
            if shape in orders and orders[shape] is not None:
                return dict(replayed(run_graph, orders[shape], run_targets))
            if shape in orders:
                return dict(dask.get(run_graph, run_targets))
            orders[shape], result = recorded(run_graph, run_targets)
            return dict(result)
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


def fast_json_dumps(value: Any) -> str:
    """`json.dumps(value)` through orjson: the same JSON document (numpy numbers as numbers), 10x faster on the
    conversation sent with each custom-action call; what orjson refuses goes to `json.dumps`."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, an unknown type
        return json.dumps(value)


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
            if hasattr(shared, "_json_serialize"):  # aiohttp's `json_serialize`, the writer of `json=` bodies
                shared._json_serialize = fast_json_dumps
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

    def one_sparse_row(sparse: list[Any]) -> Any:
        """The row Rasa's hstacks and vstack make for one message whose sentence features are all sparse single rows
        in COO form with ascending columns (what the count-vector featurizers give): the same CSR arrays (entries in
        column order, float64 as `csr_matrix([])` upcasts them, 32-bit indices), built directly. None otherwise."""
        columns, values, width = [], [], 0
        for feature in sparse:
            matrix = feature.features
            if matrix.format != "coo" or matrix.shape[0] != 1:
                return None
            columns.append(matrix.col.astype(np.int64) + width)
            values.append(matrix.data)
            width += matrix.shape[1]
        column = np.concatenate(columns)
        if width >= np.iinfo(np.int32).max or (column.size > 1 and not np.all(column[1:] > column[:-1])):
            return None
        dtype = np.result_type(*(v.dtype for v in values), np.float64)
        return csr_matrix((np.concatenate(values).astype(dtype), column.astype(np.int32),
                           np.array([0, column.size], dtype=np.int32)), shape=(1, width))

    @functools.wraps(originals[LOGREG_CREATE_X])
    def _create_X(self: Any, messages: list[Any]) -> Any:  # noqa: N802 (Rasa's name)
        """Rasa's matrix from the TEXT sentence features, without combining the unused sequence features."""
        rows = []
        for message in messages:
            sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            sparse = [f for f in sentence if f.is_sparse()]
            dense = [f for f in sentence if not f.is_sparse()]
            if len(messages) == 1 and sparse and not dense:  # a message being parsed
                row = one_sparse_row(sparse)
                if row is not None:
                    return row
            rows.append(hstack([
                csr_matrix(combined(sparse, dense=False) if sparse else []),
                csr_matrix(combined(dense, dense=True) if dense else []),
            ]))
        return vstack(rows)

    return {LOGREG_CREATE_X: _create_X}


# 6. rule_lookup ----------------------------------------------------------------------------------------------------

# (state type, key) a rule state's one required value is indexed under, in order of preference
_SIGNATURES = (("user", "intent"), ("prev_action", "action_name"))


@dataclass(frozen=True)
class _RulePlan:
    """The rule keys of one lookup, arranged so a turn checks only the keys that can still match it.

    `lengths`: key → number of states. Per turn index i (newest first), over the keys longer than i:
    `unindexed[i]` holds those whose state i is checked in full (no previous action — a conversation start — or no
    required text value to index); `indexed[i][(type, key)][value]` those whose state i has a previous action and
    requires `state[type][key] == value`, which `_does_rule_match_state` demands of a matching conversation state.
    """

    keys: frozenset[str]
    lengths: dict[str, int]
    unindexed: list[set[str]]
    indexed: list[dict[tuple[str, str], dict[str, set[str]]]]


def _required_text(rule_state: Mapping[str, Any], should_not_be_set: str) -> tuple[str, str, str] | None:
    """The (type, key, value) a matching conversation state must hold: a text value `_does_rule_match_state`
    compares for equality (set, and not "should not be set"); None when the state has no such value."""
    for state_type, key in _SIGNATURES:
        value = rule_state.get(state_type, {}).get(key)
        if isinstance(value, str) and value and value != should_not_be_set:
            return state_type, key, value
    return None


def _rule_plan(policy: Any, keys: frozenset[str], should_not_be_set: str, previous_action: str) -> _RulePlan:
    lengths: dict[str, int] = {}
    unindexed: list[set[str]] = []
    indexed: list[dict[tuple[str, str], dict[str, set[str]]]] = []
    for key in keys:
        states = policy._rule_key_to_state(key)
        lengths[key] = len(states)
        for i, rule_state in enumerate(reversed(states)):
            while len(unindexed) <= i:
                unindexed.append(set())
                indexed.append({})
            required = _required_text(rule_state, should_not_be_set) if rule_state.get(previous_action) else None
            if required is None:
                unindexed[i].add(key)
            else:
                indexed[i].setdefault(required[:2], {}).setdefault(required[2], set()).add(key)
    return _RulePlan(keys, lengths, unindexed, indexed)


def _build_rule_lookup(originals: Mapping[str, Any]) -> dict[str, Any]:
    import functools

    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

    @functools.wraps(originals[RULE_POSSIBLE_KEYS])
    def _get_possible_keys(self: Any, lookup: dict[str, str], states: list[Any]) -> set[str]:
        """Rasa's filter of the rule keys by the conversation's states, newest first, calling `_is_rule_applicable`
        only where it could say no: a key as short as the turn index or shorter stays (its first check), and a key
        whose state requires a text value the conversation's state lacks goes (`_does_rule_match_state`). The loop
        stops once the turn index reaches the longest remaining key."""
        plans: dict[int, _RulePlan] = self.__dict__.setdefault(_RULE_PLANS, {})
        keys = frozenset(lookup)
        plan = plans.get(id(lookup))
        if plan is None or plan.keys != keys:
            plan = plans[id(lookup)] = _rule_plan(self, keys, SHOULD_NOT_BE_SET, PREVIOUS_ACTION)
        lengths = plan.lengths
        possible_keys = set(keys)
        for i, state in enumerate(reversed(states)):
            if i >= len(plan.unindexed) or not possible_keys:
                break  # every remaining key is as short as i or shorter: all stay
            may_match = set(plan.unindexed[i])
            for (state_type, key), by_value in plan.indexed[i].items():
                value = state.get(state_type, {}).get(key)
                if isinstance(value, str) and value in by_value:
                    may_match |= by_value[value]
            possible_keys = {key for key in possible_keys if lengths[key] <= i or (
                key in may_match and self._is_rule_applicable(key, i, state))}
        return possible_keys

    return {RULE_POSSIBLE_KEYS: _get_possible_keys}


# 7. state_replay --------------------------------------------------------------------------------------------------

@dataclass
class _Replay:
    """One tracker's states so far: `tracker` is `init_copy()` after replaying `events` (its applied events, in
    order; `seen` is how many events the tracker held then), and `states` holds the state taken before each
    `ActionExecuted` among them, as Rasa's loop takes it. `heard` pairs each stored state's latest user message with
    what the state read of it (`_heard`): Rasa's `EntitiesAdded` and `DefinePrevUserUtteredFeaturization` change that
    message in place, and a replay from scratch would read the changed message."""

    domain: Any
    omit_unset_slots: bool
    seen: int
    events: list[Any]
    tracker: Any
    states: list[Any]
    heard: list[tuple[Any, Any]]


def _heard(message: Any) -> Any:
    """What a state reads of a user message (`as_sub_state`, `is_empty`, the domain's entity filter)."""
    if message is None:
        return None
    return (message.text, message.intent_name, message.use_text_for_featurization,
            tuple((entity.get("entity"), entity.get("role"), entity.get("group")) for entity in message.entities))


def _fresh(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state with new sub-state dicts: callers delete keys of those (`_choose_last_user_input`); their values are
    strings and tuples, never changed in place."""
    return {state_type: dict(sub_state) for state_type, sub_state in state.items()}


def _build_state_replay(originals: Mapping[str, Any]) -> dict[str, Any]:
    import functools

    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    rasas_own = originals[STATES_FOR_HISTORY]

    def continues(replay: _Replay | None, domain: Any, omit_unset_slots: bool, events: Any, applied: list[Any]) -> bool:
        """Whether `replay` may go on: same domain and option; the applied events start with those replayed (the
        same objects, in order) and grew by as many events as the tracker did, which `applied_events` allows only
        when every event added since was applied (nothing reverted, undone or restarted: such an event is not
        applied itself); and every user message a stored state read reads the same now."""
        if replay is None or replay.domain is not domain or replay.omit_unset_slots != omit_unset_slots:
            return False
        done, added = len(replay.events), len(events) - replay.seen
        if added < 0 or len(applied) != done + added:
            return False
        if any(ours is not theirs for ours, theirs in zip(replay.events, applied, strict=False)):
            return False
        return all(_heard(message) == heard for message, heard in replay.heard)

    @functools.wraps(rasas_own)
    def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                                   ignore_rule_only_turns: bool = False,
                                   rule_only_data: dict[str, Any] | None = None) -> list[Any]:
        """Rasa's states of a tracker's history, continuing the replay kept on the same tracker object when only
        new events were added (`continues`); anything else is replayed anew, as Rasa does."""
        if ignore_rule_only_turns or type(tracker) is not DialogueStateTracker:
            return rasas_own(self, tracker, omit_unset_slots=omit_unset_slots,
                             ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
        applied = tracker.applied_events()
        replay: _Replay | None = tracker.__dict__.get(_STATE_REPLAY)
        if not continues(replay, self, omit_unset_slots, tracker.events, applied):
            replay = _Replay(self, omit_unset_slots, 0, [], tracker.init_copy(), [], [])
            tracker.__dict__[_STATE_REPLAY] = replay
        assert replay is not None
        for event in applied[len(replay.events):]:
            if isinstance(event, ActionExecuted):
                message = replay.tracker.latest_message
                replay.states.append(self._clean_state(
                    self.get_active_state(replay.tracker, omit_unset_slots=omit_unset_slots)))
                replay.heard.append((message, _heard(message)))
            replay.tracker.update(event)
            replay.events.append(event)
        replay.seen = len(tracker.events)
        last = self._clean_state(self.get_active_state(replay.tracker, omit_unset_slots=omit_unset_slots))
        return [_fresh(state) for state in replay.states] + [_fresh(last)]

    return {STATES_FOR_HISTORY: states_for_tracker_history}


# The patches ---------------------------------------------------------------------------------------------------------

VALIDATE_ACTION_RESULT = "rasa.core.actions.action:RemoteAction._validate_action_result"
GRAPH_RUN = "rasa.engine.runner.dask:DaskGraphRunner.run"
ENDPOINT_SESSION = "rasa.utils.endpoints:EndpointConfig.session"
CLOSE_RESOURCES = "rasa.core.run:close_resources"
LOGREG_PROCESS = "rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier.process"
RULE_POSSIBLE_KEYS = "rasa.core.policies.rule_policy:RulePolicy._get_possible_keys"
LOGREG_CREATE_X = "rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier._create_X"
STATES_FOR_HISTORY = "rasa.shared.core.domain:Domain.states_for_tracker_history"

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
            # inputs become data (a tuple of name and value), never tasks
            "rasa.engine.runner.dask:DaskGraphRunner._add_inputs_to_graph":
                "762730fc77209d1907cd5ef7d70f0a9790a40fe2e919ffdf006e4fb54db93d38",
            # the replay calls the tasks in the order dask's scheduler ran them, each with the values of the nodes it
            # names, as dask's task execution substitutes them
            "dask.local:get_async": "3ae27aa3584ef836ee8fa521ad092e1f577c97e3273466e3f458b0aec84938f8",
            "dask.core:_execute_task": "6e6c83c3fb3ba445ecd40a54a141f670d9513fbd62b59e4f98f610a0f6415a25",
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
    Patch(
        name="rule_lookup",
        rasa_versions=RASA_VERSIONS,
        replaces={RULE_POSSIBLE_KEYS: "83b6c396784d992b4c21728117d15b8e7928be74517adccbe61d4f28aa679336"},
        relies_on={
            # its first check: a turn as far back as the rule's length or further is always applicable
            "rasa.core.policies.rule_policy:RulePolicy._is_rule_applicable":
                "483831c3fce2f320c3250414cb7f8b0d88c998f8b3cfc39441dd2986bfe52b45",
            # a rule key is the JSON list of the rule's states
            "rasa.core.policies.rule_policy:RulePolicy._rule_key_to_state":
                "78d770907ccf3f74819dcc6dace71d11f90913422b629cfd10d2f7d1e1a7620a",
        },
        build=_build_rule_lookup,
    ),
    Patch(
        name="state_replay",
        rasa_versions=RASA_VERSIONS,
        replaces={STATES_FOR_HISTORY: "73ce0170ec04bb5d2c8b7c6e125996ee0f95455ed1ea57b246ecc447b54812a9"},
        relies_on={
            # the history is the state before each ActionExecuted of the applied events, replayed on init_copy(),
            # then the state after the last one
            "rasa.shared.core.trackers:DialogueStateTracker.generate_all_prior_trackers": "676e26a860fe2d76854cad9b04a430221257092c6a70ba50d4ffc5aaba1543eb",
            "rasa.shared.core.trackers:DialogueStateTracker.init_copy": "23b58d05a23f4a9f2fec2dc35e8919258a5445852ccac258d28aa06166fbab6d",
            "rasa.shared.core.trackers:DialogueStateTracker.update": "3ce31132de95878d784d1d38f87978ac70f8d90f852fedfd1a76f690b1c0f004",
            # a state's sub-states hold strings and tuples only (so `_fresh` copies are Rasa's fresh states)
            "rasa.shared.core.domain:Domain.get_active_state": "e6f53702979740d0bae4babdb1798424578ac032482d92c1f04f3474e6ea17ec",
            "rasa.shared.core.domain:Domain._get_user_sub_state": "a7e0bdbe92d56c95088bf22b3d429ebdbbb45bb40a71f2f840799bfb9294b009",
            "rasa.shared.core.domain:Domain._get_slots_sub_state": "50ea81efd1f6707457a503bb9a74cbb4500581c2709bf00c9ce22e5688896f73",
            "rasa.shared.core.domain:Domain._get_prev_action_sub_state": "76e67b7a7d91ca0a244d9a1493c3d2c4a63b099078d92586c57bd550b8131802",
            "rasa.shared.core.domain:Domain._get_active_loop_sub_state": "2a52b1f30c4244b514d3fe73eee66a8a1d251f06d1c02e9719544886c2bbd415",
            "rasa.shared.core.events:UserUttered.as_sub_state": "c3bff28bb80e029c94aa3e9fe7ad978306a8c1bb20891774024a3afefd553ed3",
            "rasa.shared.core.events:ActionExecuted.as_sub_state": "9342d1f56c90156d39c16ddeac9d8fbf4fbc989835e7d9bdb3fbc3770635859c",
        },
        build=_build_state_replay,
    ),
)
