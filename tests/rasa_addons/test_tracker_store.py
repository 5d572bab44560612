"""ResidentTrackerStore on both backends: append-only saves, a bounded window with restored slots, masking."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from addons_support import PROJECT_DIR, REDIS_TEST_URL
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from rasa_addons.tracker_store import DEFAULT_WINDOW, ResidentTrackerStore

CCCD = "001203004567"
PHONE = "0912345678"


# --- conversations built in code ------------------------------------------------------------------------------


def session_start(**carried: Any) -> list[Event]:
    """What Rasa's action_session_start writes, with carried-over slots."""
    return [
        ActionExecuted(ACTION_SESSION_START_NAME),
        SessionStarted(),
        *(SlotSet(name, value) for name, value in carried.items()),
        ActionExecuted(ACTION_LISTEN_NAME),
    ]


def turn(i: int, slots: dict[str, Any] | None = None, text: str | None = None) -> list[Event]:
    """One resident question and the bot's answer: 4 events, plus any slots the action set."""
    text = text or f"câu hỏi số {i}"
    return [
        UserUttered(text, intent={"name": "ask_dvc_submit", "confidence": 0.9}, parse_data={"text": text}),
        ActionExecuted("action_answer"),
        BotUttered(f"trả lời số {i}", data={"custom": {"kind": "answer"}}),
        *(SlotSet(name, value) for name, value in (slots or {}).items()),
        ActionExecuted(ACTION_LISTEN_NAME),
    ]


def user_texts(tracker: DialogueStateTracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def as_dicts(events: Any) -> list[dict[str, Any]]:
    return [e.as_dict() for e in events]


@dataclass
class Stores:
    """Builds ResidentTrackerStores on one backend and reads back what that backend holds."""

    domain: Domain
    url: str
    redis: Any = None
    made: list[ResidentTrackerStore] = field(default_factory=list)

    def make(self, window: int = DEFAULT_WINDOW, **kwargs: Any) -> ResidentTrackerStore:
        store = ResidentTrackerStore(self.domain, host=self.url, window=window, **kwargs)
        self.made.append(store)
        return store

    def raw(self, store: ResidentTrackerStore, sender_id: str) -> list[str]:
        """The serialised events as stored: the Redis list itself, or the in-process list."""
        key = f"{store.key_prefix}:{sender_id}:events"
        if self.redis is not None:
            return self.redis.lrange(key, 0, -1)
        return list(store.backend.data.get(key, []))

    def length(self, store: ResidentTrackerStore, sender_id: str) -> int:
        key = f"{store.key_prefix}:{sender_id}:events"
        return self.redis.llen(key) if self.redis is not None else len(store.backend.data.get(key, []))

    async def converse(self, store: ResidentTrackerStore, sender_id: str, turns: list[list[Event]]) -> None:
        """Play turns the way Rasa's processor does: load (or create) the tracker, add a turn's events, save."""
        for events in turns:
            tracker = await store.get_or_create_tracker(sender_id, append_action_listen=False)
            for event in events:
                tracker.update(event)
            await store.save(tracker)


@pytest.fixture(params=["memory://", REDIS_TEST_URL], ids=["memory", "redis"])
async def stores(request: pytest.FixtureRequest, domain: Domain) -> AsyncIterator[Stores]:
    redis_client = request.getfixturevalue("redis_db") if request.param.startswith("redis") else None
    made = Stores(domain, request.param, redis_client)
    yield made
    for store in made.made:
        if redis_client is not None:
            await store.backend.red.close()


# --- round trip and append-only -------------------------------------------------------------------------------


async def test_unknown_conversation_is_none(stores: Stores) -> None:
    store = stores.make()

    assert await store.retrieve("nobody") is None
    assert await store.retrieve_full_tracker("nobody") is None
    assert not await store.exists("nobody")


async def test_save_then_retrieve_round_trip(stores: Stores, domain: Domain) -> None:
    store = stores.make()
    events = [*session_start(), *turn(1, {"topic": "dvc-submit"}), *turn(2)]
    tracker = DialogueStateTracker.from_events("resident-1", events, domain.slots)

    await store.save(tracker)
    loaded = await store.retrieve("resident-1")

    assert loaded is not None
    assert as_dicts(loaded.events) == as_dicts(tracker.events)
    assert loaded.current_slot_values() == tracker.current_slot_values()
    assert loaded.latest_message.text == "câu hỏi số 2"
    assert loaded.latest_message.intent["name"] == "ask_dvc_submit"
    assert await store.exists("resident-1")


async def test_get_or_create_makes_and_stores_a_new_tracker(stores: Stores) -> None:
    store = stores.make()

    tracker = await store.get_or_create_tracker("new-resident")

    assert [e.as_dict()["event"] for e in tracker.events] == ["action"]
    assert stores.length(store, "new-resident") == 1
    assert (await store.retrieve("new-resident")).latest_action_name == ACTION_LISTEN_NAME


async def test_second_save_appends_only_the_new_events(stores: Stores, domain: Domain) -> None:
    store = stores.make()
    tracker = DialogueStateTracker.from_events("resident-1", [*session_start(), *turn(1)], domain.slots)
    await store.save(tracker)
    first = stores.length(store, "resident-1")

    for event in turn(2, {"topic": "dvc-track"}):
        tracker.update(event)
    await store.save(tracker)
    await store.save(tracker)  # nothing new: nothing written

    assert first == 3 + 4
    assert stores.length(store, "resident-1") == first + 5
    assert [json.loads(r)["event"] for r in stores.raw(store, "resident-1")[first:]] == [
        "user",
        "action",
        "bot",
        "slot",
        "action",
    ]


async def test_a_loaded_tracker_saves_only_what_it_gained(stores: Stores) -> None:
    # the windowed tracker starts with a synthetic slot-restoring prefix; it must never be written back
    store = stores.make(window=20)
    await stores.converse(store, "resident-1", [session_start(topic=None), *(turn(i) for i in range(30))])
    before = stores.length(store, "resident-1")

    await stores.converse(store, "resident-1", [turn(30, {"topic": "dvc-login"})])

    assert stores.length(store, "resident-1") == before + 5
    full = await store.retrieve_full_tracker("resident-1")
    assert user_texts(full) == [f"câu hỏi số {i}" for i in range(31)]
    assert sum(isinstance(e, SessionStarted) for e in full.events) == 1


# --- the bounded window ---------------------------------------------------------------------------------------


async def test_window_bounds_a_long_conversation_and_keeps_old_slots(stores: Stores) -> None:
    window = 40
    store = stores.make(window=window)
    turns = [session_start()]
    for i in range(300):
        slots: dict[str, Any] = {}
        if i == 3:
            slots = {"topic": "vneid-activate", "handoff_requested": True}
        turns.append(turn(i, slots))
    sizes = {}

    for start in range(0, len(turns), 50):
        await stores.converse(store, "long", turns[start : start + 50])
        sizes[start] = len((await store.retrieve("long")).events)

    loaded = await store.retrieve("long")
    prefix = [ACTION_SESSION_START_NAME, "session_started", "topic", "handoff_requested", ACTION_LISTEN_NAME]
    names = [getattr(e, "action_name", None) or getattr(e, "key", None) or e.type_name for e in loaded.events]
    assert names[: len(prefix)] == prefix
    window_events = list(loaded.events)[len(prefix) :]
    assert len(window_events) <= window
    assert isinstance(window_events[0], UserUttered)
    assert loaded.get_slot("topic") == "vneid-activate"
    assert loaded.get_slot("handoff_requested") is True
    assert loaded.latest_message.text == "câu hỏi số 299"
    assert "câu hỏi số 3" not in user_texts(loaded)
    # the cost of loading does not grow with the conversation
    assert len(set(list(sizes.values())[1:])) == 1
    assert stores.length(store, "long") == 3 + 300 * 4 + 2


async def test_slot_changed_inside_the_window_ends_at_its_latest_value(stores: Stores) -> None:
    store = stores.make(window=30)
    turns = [session_start(), turn(0, {"topic": "birth-registration"})]
    turns += [turn(i) for i in range(1, 40)]
    turns += [turn(40, {"topic": "judicial-record"}), turn(41), turn(42, {"handoff_requested": True})]

    await stores.converse(store, "resident-1", turns)
    loaded = await store.retrieve("resident-1")
    full = await store.retrieve_full_tracker("resident-1")

    assert loaded.current_slot_values() == full.current_slot_values()
    assert loaded.get_slot("topic") == "judicial-record"
    assert loaded.get_slot("handoff_requested") is True


async def test_slot_reset_to_none_is_restored_as_none(stores: Stores) -> None:
    store = stores.make(window=20)
    turns = [session_start(), turn(0, {"topic": "dvc-submit"}), turn(1, {"topic": None})]
    turns += [turn(i) for i in range(2, 30)]

    await stores.converse(store, "resident-1", turns)

    assert (await store.retrieve("resident-1")).get_slot("topic") is None


async def test_new_session_cuts_the_window(stores: Stores) -> None:
    store = stores.make(window=80)
    turns = [session_start(), *(turn(i, {"topic": "dvc-track"} if i == 0 else None) for i in range(10))]
    turns += [session_start(topic="dvc-track", handoff_requested=False), turn(100), turn(101)]

    await stores.converse(store, "resident-1", turns)
    loaded = await store.retrieve("resident-1")

    first = loaded.events[0]
    assert isinstance(first, ActionExecuted) and first.action_name == ACTION_SESSION_START_NAME
    assert sum(isinstance(e, SessionStarted) for e in loaded.events) == 1
    assert user_texts(loaded) == ["câu hỏi số 100", "câu hỏi số 101"]
    assert loaded.get_slot("topic") == "dvc-track"
    full = await store.retrieve_full_tracker("resident-1")
    assert len(user_texts(full)) == 12


async def test_new_session_without_carried_slots_forgets_them(stores: Stores) -> None:
    store = stores.make(window=40)
    turns = [session_start(), turn(0, {"topic": "dvc-track", "handoff_requested": True}), session_start(), turn(1)]

    await stores.converse(store, "resident-1", turns)
    loaded = await store.retrieve("resident-1")

    assert loaded.get_slot("topic") is None
    assert loaded.get_slot("handoff_requested") is False


async def test_full_tracker_returns_every_event_of_every_session(stores: Stores) -> None:
    store = stores.make(window=10)
    turns = [session_start(), *(turn(i) for i in range(20)), session_start(), *(turn(i) for i in range(20, 25))]

    await stores.converse(store, "resident-1", turns)
    full = await store.retrieve_full_tracker("resident-1")

    assert len(full.events) == stores.length(store, "resident-1") == 3 + 20 * 4 + 3 + 5 * 4
    assert user_texts(full) == [f"câu hỏi số {i}" for i in range(25)]
    assert as_dicts(full.events) == [json.loads(r) for r in stores.raw(store, "resident-1")]


async def test_saving_a_fresh_tracker_replaces_the_conversation(stores: Stores, domain: Domain) -> None:
    store = stores.make()
    await stores.converse(store, "resident-1", [session_start(), turn(0), turn(1)])

    replacement = DialogueStateTracker.from_events("resident-1", [*session_start(), *turn(9)], domain.slots)
    await store.save(replacement)

    assert user_texts(await store.retrieve_full_tracker("resident-1")) == ["câu hỏi số 9"]


async def test_window_without_a_user_turn_still_loads(stores: Stores, domain: Domain) -> None:
    store = stores.make(window=3)
    events = [*session_start(topic="dvc-submit"), *turn(0)]
    events += [ActionExecuted("action_answer"), BotUttered("thêm"), ActionExecuted("action_answer"), BotUttered("nữa")]
    await store.save(DialogueStateTracker.from_events("resident-1", events, domain.slots))

    loaded = await store.retrieve("resident-1")

    assert loaded is not None
    assert loaded.get_slot("topic") == "dvc-submit"


# --- personal data, ids, broker, expiry -------------------------------------------------------------------


async def test_personal_data_in_user_text_is_masked_in_storage(stores: Stores) -> None:
    store = stores.make()
    text = f"CCCD của tôi là {CCCD}, số điện thoại {PHONE}"

    await stores.converse(store, "resident-1", [session_start(), turn(0, text=text)])

    raw = stores.raw(store, "resident-1")
    assert CCCD not in "".join(raw)
    assert PHONE not in "".join(raw)
    [user] = [json.loads(r) for r in raw if json.loads(r)["event"] == "user"]
    assert user["text"] == "CCCD của tôi là [CCCD], số điện thoại [SĐT]"
    assert user["parse_data"]["text"] == user["text"]
    loaded = await store.retrieve("resident-1")
    assert loaded.latest_message.text == user["text"]


async def test_keys_lists_conversation_ids(stores: Stores) -> None:
    store = stores.make()
    for sender_id in ("resident-1", "resident-2", "zalo:8412345"):
        await stores.converse(store, sender_id, [session_start(topic="dvc-submit"), turn(0)])

    assert sorted(await store.keys()) == ["resident-1", "resident-2", "zalo:8412345"]


async def test_keys_of_an_empty_store(stores: Stores) -> None:
    assert list(await stores.make().keys()) == []


async def test_custom_key_prefix_separates_stores(stores: Stores) -> None:
    first, second = stores.make(key_prefix="commune-a"), stores.make(key_prefix="commune-b")
    await stores.converse(first, "resident-1", [session_start(), turn(0)])

    if stores.redis is not None:
        assert stores.redis.exists("commune-a:resident-1:events")
        assert await second.retrieve("resident-1") is None
        assert list(await second.keys()) == []
    assert list(await first.keys()) == ["resident-1"]


class CollectingBroker:
    """An event broker that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


async def test_only_new_events_are_published(stores: Stores) -> None:
    broker = CollectingBroker()
    store = stores.make()
    store.event_broker = broker  # type: ignore[assignment]

    await stores.converse(store, "resident-1", [session_start(), turn(0), turn(1)])

    assert len(broker.published) == 3 + 4 + 4
    assert {e["sender_id"] for e in broker.published} == {"resident-1"}
    assert [e["text"] for e in broker.published if e["event"] == "user"] == ["câu hỏi số 0", "câu hỏi số 1"]


async def test_redis_records_expire_when_record_exp_is_set(domain: Domain, redis_db: Any) -> None:
    store = ResidentTrackerStore(domain, host=REDIS_TEST_URL, record_exp=600)
    try:
        await store.save(DialogueStateTracker.from_events("resident-1", [*session_start(), *turn(0)], domain.slots))
    finally:
        await store.backend.red.close()

    assert 0 < redis_db.ttl("tracker:resident-1:events") <= 600
    assert 0 < redis_db.ttl("tracker:resident-1:slots") <= 600


async def test_redis_stores_the_latest_slot_snapshot(domain: Domain, redis_db: Any) -> None:
    store = ResidentTrackerStore(domain, host=REDIS_TEST_URL)
    try:
        tracker = DialogueStateTracker.from_events(
            "resident-1", [*session_start(), *turn(0, {"topic": "x"})], domain.slots
        )
        await store.save(tracker)
    finally:
        await store.backend.red.close()

    snapshot = json.loads(redis_db.get("tracker:resident-1:slots"))
    assert snapshot["topic"] == "x" and snapshot["handoff_requested"] is False
    assert set(snapshot) == {slot.name for slot in domain.slots}
    assert redis_db.ttl("tracker:resident-1:events") == -1


# --- loaded the way Rasa loads it -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory://", REDIS_TEST_URL])
async def test_rasa_builds_the_store_from_an_endpoint_config(url: str, domain: Domain, request: Any) -> None:
    if url.startswith("redis"):
        request.getfixturevalue("redis_db")
    config = EndpointConfig(url=url, type="rasa_addons.tracker_store.ResidentTrackerStore", window=40)

    store = TrackerStore.create(config, domain)

    assert isinstance(store, ResidentTrackerStore)
    assert store.window == 40
    try:
        tracker = await store.get_or_create_tracker("resident-1")
        assert (await store.retrieve("resident-1")).sender_id == tracker.sender_id
    finally:
        if url.startswith("redis"):
            await store.backend.red.close()


def test_endpoints_yml_selects_this_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("TRACKER_STORE_URL", "memory://")
    monkeypatch.setenv("LOCK_STORE_URL", "memory://")

    config = read_endpoint_config(str(PROJECT_DIR / "endpoints.yml"), "tracker_store")

    assert config is not None
    assert config.type == "rasa_addons.tracker_store.ResidentTrackerStore"
    assert config.url == "memory://"
    # conversations expire 90 days after their last message (docs/capacity.md)
    assert config.kwargs == {"window": 60, "record_exp": 90 * 86400}


# --- under Rasa's own message processor -----------------------------------------------------------------------

MODEL = PROJECT_DIR / "models" / "assistant.tar.gz"


@pytest.mark.integration
@pytest.mark.skipif(not MODEL.exists(), reason="no trained model at models/assistant.tar.gz (run `make train`)")
async def test_rasa_processor_appends_each_turn_once_through_a_small_window(stores: Stores) -> None:
    from aiohttp import web
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    async def fake_action_server(request: web.Request) -> web.Response:
        # the session start is a custom action (resume offers): answer it the way rasa-sdk would
        call = await request.json()
        events = [{"event": "session_started"}, {"event": "action", "name": "action_listen"}]
        started = call.get("next_action") == "action_session_start"
        # other custom actions (action_thank) say one line, as the real ones do
        return web.json_response({"events": events if started else [],
                                  "responses": [] if started else [{"text": "Dạ vâng."}]})

    app = web.Application()
    app.router.add_post("/webhook", fake_action_server)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    store = stores.make(window=12)
    agent = Agent.load(str(MODEL), tracker_store=store,
                       action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"))
    said = ["xin chào", "cảm ơn anh/chị nhiều", "tạm biệt nhé"] * 10 + [f"số cccd của tôi là {CCCD}"]

    replies = [await agent.handle_text(text, sender_id="resident-1") for text in said[:-1]]

    assert all(reply and reply[0].get("text") for reply in replies)
    assert replies[0][0]["text"].startswith("Xin chào anh/chị!")
    assert replies[-1][0]["text"] == "Chào anh/chị, chúc anh/chị làm thủ tục thuận lợi!"

    await agent.handle_text(said[-1], sender_id="resident-1")
    full = await store.retrieve_full_tracker("resident-1")
    assert user_texts(full)[:-1] == said[:-1]
    assert user_texts(full)[-1] == "số cccd của tôi là [CCCD]"
    assert sum(isinstance(e, SessionStarted) for e in full.events) == 1
    assert len(full.events) == stores.length(store, "resident-1")
    window = await store.retrieve("resident-1")
    assert len(window.events) <= 12 + 5
    await runner.cleanup()


def test_the_redis_backend_reads_replies_with_the_c_parser() -> None:
    # hiredis (requirements/rasa.txt) parses the 60 stored events of every turn about 4x cheaper than redis-py's own
    # parser; a lost install would not fail anything else
    from redis.asyncio.connection import HiredisParser

    from rasa_addons.tracker_store import _RedisBackend

    backend = _RedisBackend(REDIS_TEST_URL)
    assert backend.red.connection_pool.connection_kwargs.get("parser_class", HiredisParser) is HiredisParser
    assert backend.red.connection_pool.make_connection()._parser.__class__ is HiredisParser


def test_only_an_integer_of_19_digits_or_more_needs_json() -> None:
    from rasa_addons.tracker_store import _long_integer

    assert not _long_integer('{"confidence": 0.0023858960525242417, "n": 123456789012345678}')  # a fraction; 18 digits
    assert not _long_integer('{"t": 1796646242.6517115, "e": 9.448545118159564e-05}')
    assert _long_integer('{"id": 1234567890123456789}')  # 19 digits: may not fit 64 bits
    assert _long_integer('{"id": -9223372036854775809}')
    assert _long_integer('[0.5, 18446744073709551616]')  # the second run is an integer
    assert _long_integer('12345678901234567890')
    assert _long_integer('{"x": 0.1234567890123456789, "id": 12345678901234567890}')


def test_stored_events_parse_to_what_json_gives() -> None:
    import math
    import random

    from rasa_addons.tracker_store import _loads

    rng = random.Random(5)
    pieces = [0.1, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 0.30000000000000004, 2**63 - 1, -(2**63),
              2**64 - 1, "tiếng Việt có dấu", "\u00a0\t\n\"\\/", "😀", "", None, True, False, [], {}]
    for _ in range(3000):
        value: Any = {
            "event": "user",
            "confidence": rng.random() * 10 ** rng.randint(-20, 20),
            "n": rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-1000, 1000),
            "items": [rng.choice(pieces) for _ in range(rng.randint(0, 5))],
            "odd": rng.choice([math.nan, math.inf, -math.inf, 1.0]),
        }
        raw = json.dumps(value, ensure_ascii=rng.random() < 0.5)  # as the store writes, NaN and all
        ours, theirs = _loads(raw), json.loads(raw)
        assert repr(ours) == repr(theirs)  # repr: NaN != NaN, and -0.0 == 0.0 would hide a sign
        assert [type(x) for x in ours["items"]] == [type(x) for x in theirs["items"]]
