"""Fixes for Rasa 3.6 hot spots found by profiling (`py-spy` on `rasa run` under 20 concurrent residents).

`RemoteAction._validate_action_result` calls `jsonschema.validate()` on every custom-action reply, which re-checks
the (large, draft 2020-12) response schema each time: about 70% of Rasa's CPU per turn here. The schema never
changes, so it is checked once and a compiled validator is reused; invalid replies still raise ValidationError
exactly as before.
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
    _installed = True
