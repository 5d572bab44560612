"""Fixes for Rasa 3.6 hot spots found by profiling (`py-spy` on `rasa run` under 20 concurrent residents).

1. `RemoteAction._validate_action_result` calls `jsonschema.validate()` on every custom-action reply, which re-checks
   the (large, draft 2020-12) response schema each time: about 70% of Rasa's CPU per turn here. The schema never
   changes, so it is checked once and a compiled validator is reused; invalid replies still raise ValidationError
   exactly as before.
2. `DaskGraphRunner.run` recomputes the minimal graph (a recursive walk) and formats a debug f-string holding the
   message and the whole tracker on every NLU parse and every policy prediction, whether debug logging is on or
   not. The graph for given targets never changes, so it is built once per target list; the log line is formatted
   only when debug logging is enabled.
3. `EndpointConfig.request` opens a new aiohttp session (and TCP connection) for every custom-action call; the
   action endpoint's session is kept open and reused instead (one per endpoint and event loop).
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    """Patch Rasa once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, make sure your response from the Action "
                f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _install_graph_runner_cache()
    _install_shared_sessions()
    _installed = True


def _install_graph_runner_cache() -> None:
    import logging

    import dask
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner import dask as dask_runner

    runner_cls = dask_runner.DaskGraphRunner
    log = dask_runner.logger

    def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        cache = self.__dict__.setdefault("_resident_graphs", {})
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

    runner_cls.run = run


class _Borrowed:
    """`async with` over a long-lived session that does not close it on exit."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *_: Any) -> bool:
        return False


def _install_shared_sessions() -> None:
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    make_session = EndpointConfig.session

    def session(self: Any) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return make_session(self)
        shared = self.__dict__.get("_resident_session")
        if shared is None or shared.closed or self.__dict__.get("_resident_loop") is not loop:
            shared = make_session(self)
            self.__dict__["_resident_session"], self.__dict__["_resident_loop"] = shared, loop
        return _Borrowed(shared)

    EndpointConfig.session = session
