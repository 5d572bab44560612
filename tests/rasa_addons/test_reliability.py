"""rasa_addons.reliability under Rasa's real Agent and the trained model: Redis restarts, an action server that is
down or crashing, and a message sent twice. Each test reproduces a defect found by the black-box fault test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from addons_support import PROJECT_DIR, PrivateRedis
from aiohttp import web
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import UserUttered

from rasa_addons.reliability import ActionServerUnavailable, TrackerStoreUnavailable, replies_for
from rasa_addons.tracker_store import ResidentTrackerStore

MODEL = PROJECT_DIR / "models" / "assistant.tar.gz"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model at models/assistant.tar.gz (run `make train`)"),
]


@dataclass
class ActionServer:
    """A fake action server on loopback answering the way rasa-sdk does; `mode` makes it crash, or it is stopped."""

    port: int = 0
    mode: str = "ok"
    runner: Any = None

    async def handle(self, request: web.Request) -> web.Response:
        call = await request.json()
        if self.mode == "crash":
            return web.Response(status=500, text="Traceback: TypeError")
        if call.get("next_action") == "action_session_start":
            return web.json_response({"events": [{"event": "session_started"},
                                                 {"event": "action", "name": "action_listen"}], "responses": []})
        return web.json_response({"events": [], "responses": [{"text": f"Dạ vâng ({call.get('next_action')})."}]})

    async def start(self) -> ActionServer:
        app = web.Application()
        app.router.add_post("/webhook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
async def actions() -> AsyncIterator[ActionServer]:
    server = await ActionServer().start()
    yield server
    await server.stop()


def load_agent(url: str, action_url: str) -> Any:
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    store = ResidentTrackerStore(Domain.load(str(PROJECT_DIR / "domain.yml")), host=url)
    return Agent.load(str(MODEL), tracker_store=store, action_endpoint=EndpointConfig(url=action_url))


async def say(agent: Any, sender: str, text: str, message_id: str | None = None) -> list[dict[str, Any]]:
    output = CollectingOutputChannel()
    metadata = {"client_message_id": True} if message_id else {}
    await agent.handle_message(UserMessage(text, output, sender, message_id=message_id, metadata=metadata))
    return output.messages


def user_events(redis: Any, sender: str) -> list[str]:
    import json

    return [json.loads(e)["text"] for e in redis.lrange(f"tracker:{sender}:events", 0, -1)
            if json.loads(e)["event"] == "user"]


# --- 1. a Redis restart -----------------------------------------------------------------------------------------


async def test_a_redis_restart_loses_no_history(redis_server: PrivateRedis, actions: ActionServer) -> None:
    agent = load_agent(redis_server.url, actions.url)
    said = ["xin chào", "cảm ơn anh/chị", "tạm biệt"]
    for text in said:
        await say(agent, "resident-1", text)
    stored = redis_server.client().llen("tracker:resident-1:events")

    redis_server.kill()
    redis_server.start()  # the pooled connections are now stale: the first command meets a closed socket
    replies = await say(agent, "resident-1", "xin chào lần nữa")

    assert replies
    redis = redis_server.client()
    assert redis.llen("tracker:resident-1:events") > stored
    assert user_events(redis, "resident-1") == [*said, "xin chào lần nữa"]
    assert not redis.keys("tracker:resident-1:events:replaced:*")  # nothing was replaced either


async def test_with_redis_away_the_turn_fails_and_nothing_goes_to_memory(
    redis_server: PrivateRedis, actions: ActionServer
) -> None:
    agent = load_agent(redis_server.url, actions.url)
    await say(agent, "resident-2", "xin chào")
    redis_server.kill()

    with pytest.raises(TrackerStoreUnavailable):
        await say(agent, "resident-2", "cảm ơn anh/chị")

    redis_server.start()
    await say(agent, "resident-2", "tạm biệt")
    # the failed message was not kept in process memory and saved later: the gateway resends it
    assert user_events(redis_server.client(), "resident-2") == ["xin chào", "tạm biệt"]


# --- 2. the action server ---------------------------------------------------------------------------------------


async def test_an_unreachable_action_server_fails_the_turn_unsaved(
    redis_server: PrivateRedis, actions: ActionServer
) -> None:
    agent = load_agent(redis_server.url, actions.url)
    await say(agent, "resident-3", "xin chào")
    await actions.stop()

    with pytest.raises(ActionServerUnavailable):
        await say(agent, "resident-3", "cảm ơn anh/chị")  # action_thank is a custom action
    assert user_events(redis_server.client(), "resident-3") == ["xin chào"]

    await actions.start()  # back on the same port: the retried message is answered
    replies = await say(agent, "resident-3", "cảm ơn anh/chị")
    assert replies[0]["text"] == "Dạ vâng (action_thank)."
    assert user_events(redis_server.client(), "resident-3") == ["xin chào", "cảm ơn anh/chị"]


async def test_a_crashing_action_is_not_an_outage(redis_server: PrivateRedis, actions: ActionServer) -> None:
    agent = load_agent(redis_server.url, actions.url)
    await say(agent, "resident-4", "xin chào")
    actions.mode = "crash"

    await say(agent, "resident-4", "cảm ơn anh/chị")  # no exception: retrying a crash would crash again

    assert user_events(redis_server.client(), "resident-4") == ["xin chào", "cảm ơn anh/chị"]


# --- 3. a message sent twice ------------------------------------------------------------------------------------


async def test_a_message_sent_again_is_answered_from_the_tracker(
    redis_server: PrivateRedis, actions: ActionServer
) -> None:
    agent = load_agent(redis_server.url, actions.url)
    first = await say(agent, "resident-5", "cảm ơn anh/chị", message_id="zalo-1")
    actions.mode = "crash"  # were it run again, the reply would differ

    again = await say(agent, "resident-5", "cảm ơn anh/chị", message_id="zalo-1")

    assert [r["text"] for r in again] == [r["text"] for r in first] == ["Dạ vâng (action_thank)."]
    assert user_events(redis_server.client(), "resident-5") == ["cảm ơn anh/chị"]


async def test_the_same_text_with_a_new_id_is_a_new_message(
    redis_server: PrivateRedis, actions: ActionServer
) -> None:
    agent = load_agent(redis_server.url, actions.url)
    await say(agent, "resident-6", "cảm ơn anh/chị", message_id="a")
    await say(agent, "resident-6", "cảm ơn anh/chị", message_id="b")
    await say(agent, "resident-6", "cảm ơn anh/chị")  # no id from the client: never matched

    assert user_events(redis_server.client(), "resident-6") == ["cảm ơn anh/chị"] * 3


async def test_a_new_message_reads_the_conversation_once(redis_server: PrivateRedis, actions: ActionServer) -> None:
    agent = load_agent(redis_server.url, actions.url)
    await say(agent, "resident-7", "xin chào", message_id="m1")
    store = agent.tracker_store._tracker_store  # Rasa's fail-safe wrapper around ResidentTrackerStore
    reads = []
    retrieve = store.retrieve

    async def counted(sender_id: str) -> Any:
        tracker = await retrieve(sender_id)
        reads.append(tracker)
        return tracker

    store.retrieve = counted

    replies = await say(agent, "resident-7", "cảm ơn anh/chị", message_id="m2")  # the duplicate check reads it

    assert [r["text"] for r in replies] == ["Dạ vâng (action_thank)."]
    assert len(reads) == 1  # the processor went on with the tracker the check read
    assert user_events(redis_server.client(), "resident-7") == ["xin chào", "cảm ơn anh/chị"]
    await say(agent, "resident-7", "tạm biệt")  # no id: no duplicate check, the processor reads it itself
    assert len(reads) == 2
    await say(agent, "resident-8", "xin chào", message_id="n1")  # a new conversation: created by the processor
    assert user_events(redis_server.client(), "resident-8") == ["xin chào"]


def test_replies_for_reads_the_bot_messages_up_to_the_next_user_turn() -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events("r", [
        UserUttered("một", message_id="m1"), ActionExecuted("action_answer"),
        BotUttered("trả lời một", data={"custom": {"kind": "answer"}}), BotUttered("thêm"),
        UserUttered("hai", message_id="m2"), BotUttered("trả lời hai"),
    ])

    assert [r["text"] for r in replies_for(tracker, "m1") or []] == ["trả lời một", "thêm"]
    assert (replies_for(tracker, "m1") or [{}])[0]["custom"] == {"kind": "answer"}
    assert [r["text"] for r in replies_for(tracker, "m2") or []] == ["trả lời hai"]
    assert replies_for(tracker, "m3") is None
    assert replies_for(None, "m1") is None
