"""The one way gateways talk to Rasa: our REST channel (`POST /webhooks/rest/webhook`), one JSON object per reply."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.render import Reply

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (down, timing out, or failing): the message must be kept and retried."""


class RasaFailed(RasaUnavailable):
    """Rasa answered HTTP 500: it failed on this message (not an outage); retried a few times, then set aside."""


class RasaRejected(RuntimeError):
    """Rasa refused this message (HTTP 4xx: malformed, too large…): retrying cannot help, so it is set aside at once
    instead of being held, which would block the resident's later messages behind it for ever."""


class RasaClient:
    """Send a resident's message to Rasa under a namespaced sender id (`zalo:<id>`, `telegram:<chat>`…)."""

    def __init__(self, url: str, timeout_s: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=timeout_s)

    async def send(self, sender: str, text: str, channel: str, metadata: dict[str, Any] | None = None,
                   message_id: str = "", system_event: str = "") -> list[Reply]:
        """Rasa's replies to one message; raises RasaUnavailable when it cannot answer now.

        `message_id` makes a retry safe: Rasa answers a message id it has handled before from the conversation
        instead of running it again. `system_event` (e.g. `handoff_closed`) is an event only a gateway may send;
        a resident's text never reaches that field.
        """
        body: dict[str, Any] = {"sender": sender, "message": text, "input_channel": channel,
                                "metadata": metadata or {}}
        if message_id:
            body["message_id"] = message_id
        if system_event:
            body["system_event"] = system_event
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc.__class__.__name__}") from exc
        # our channel answers 500/503 with a "busy" reply when Rasa itself failed: that is an outage too
        if response.status_code == 500:
            raise RasaFailed("Rasa answered HTTP 500")
        if response.status_code > 500:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        if 400 <= response.status_code < 500:
            logger.error("Rasa refused a message from %s: HTTP %s", sender, response.status_code)
            raise RasaRejected(f"Rasa answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered with invalid JSON") from exc
        if not isinstance(data, list):
            raise RasaUnavailable("Rasa answered with something other than a list of replies")
        return [Reply.from_rasa(obj, reply_to=message_id) for obj in data if isinstance(obj, dict)]

    async def aclose(self) -> None:
        await self._client.aclose()
