"""The backup drill: real feedback, a real volunteer ticket and a real Rasa conversation survive backup → destroy →
restore, and the restored Redis keeps its append-only file on.

Each test runs its own redis-server (append-only, password, a free private port, a tmp folder), never the shared one.
The conversation is written and read back by rasa_addons/tracker_store.py itself, in the Rasa environment.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from actions.feedback_store import FeedbackStore
from bot.handoff import Ticket, Tickets
from common.records import FeedbackRecord
from tools.harness import ROOT, free_port
from tools.redis_backup import MANIFEST, OK, REFUSED, UNREACHABLE, backup, main, parse_url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

PASSWORD = "drill:pass@not-a-secret"  # URL-special characters on purpose
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
RESIDENT = "zalo:8800123"
SENDER = "zalo:8800123"

# Written and read by the Rasa-side tracker store (Python 3.10 venv), as Rasa itself would
TRACKER_SCRIPT = """
import asyncio, json, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa_addons.tracker_store import ResidentTrackerStore

async def main(url, op, sender):
    store = ResidentTrackerStore(Domain.empty(), host=url)
    if op == "write":
        tracker = await store.create_tracker(sender)
        tracker.update(UserUttered("tôi quên mật khẩu VNeID, sđt 0912345678",
                                   intent={"name": "ask_topic", "confidence": 0.93}))
        tracker.update(BotUttered("Bạn mở ứng dụng VNeID và chọn Quên mật khẩu."))
        await store.save(tracker)
    full = await store.retrieve_full_tracker(sender)
    events = [] if full is None else [[e.as_dict()["event"], e.as_dict().get("text")] for e in full.events]
    print(json.dumps({"keys": sorted(await store.keys()), "events": events}, ensure_ascii=False))

asyncio.run(main(*sys.argv[1:]))
"""


class RedisProcess:
    """One redis-server with AOF on (fsync always) in a folder; killed with SIGKILL, never shut down cleanly."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD.replace(':', '%3A').replace('@', '%40')}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--requirepass", PASSWORD,
             "--repl-diskless-sync-delay", "0"],  # production waits 5 s for other replicas; a test need not
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        for _ in range(200):
            try:
                if not int(client.info("persistence")["loading"]):
                    return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("redis-server did not start")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=PASSWORD, decode_responses=True)

    def aclient(self) -> aioredis.Redis:
        return aioredis.Redis(port=self.port, password=PASSWORD, decode_responses=True)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def servers() -> Iterator[list[RedisProcess]]:
    """Every redis-server a test starts, killed at the end whatever happens."""
    started: list[RedisProcess] = []
    yield started
    for server in started:
        server.kill()


def start(servers: list[RedisProcess], data_dir: Path) -> RedisProcess:
    server = RedisProcess(data_dir).start()
    servers.append(server)
    return server


def tracker(url: str, op: str) -> dict[str, Any]:
    """Write (op=write) and/or read the conversation with the real tracker store, in the Rasa environment."""
    assert RASA_PY.exists(), "the Rasa environment is missing: make setup"
    done = subprocess.run([str(RASA_PY), "-c", TRACKER_SCRIPT, url, op, SENDER], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def feedback_record() -> FeedbackRecord:
    return FeedbackRecord(resident="p-3f9a", channel="zalo", commune="vi-du", kind="rating", rating="hai_long",
                          topic="vneid-level2", walkthrough={"guide_id": "vneid-level2", "step": 4}, volunteer=True,
                          at=1_760_000_000.0)


async def write_state(server: RedisProcess) -> tuple[str, Ticket, dict[str, Any]]:
    """Feedback through the action server's store, a ticket through the gateways' Tickets, a conversation via Rasa."""
    entry = FeedbackStore(server.client(), retention_days=30).add(feedback_record(), "cán bộ xã hướng dẫn rất kỹ")
    client = server.aclient()
    ticket = await Tickets(client, commune="vi-du").open(RESIDENT, topic="vneid-level2", reason="stuck",
                                                         walkthrough={"guide_id": "vneid-level2", "step": 4})
    await client.aclose()
    conversation = tracker(server.url, "write")
    assert conversation["events"], "the tracker store wrote nothing"
    return entry, ticket, conversation


async def assert_state(server: RedisProcess, entry: str, ticket: Ticket, conversation: dict[str, Any]) -> None:
    """Everything written by write_state reads back the same through the same code."""
    store = FeedbackStore(server.client())
    assert store.records() == [(entry, feedback_record())]
    assert store.comment(entry) == "cán bộ xã hướng dẫn rất kỹ"
    client = server.aclient()
    tickets = Tickets(client, commune="vi-du")
    assert await tickets.get(ticket.id) == ticket
    assert await tickets.active_for(RESIDENT) == ticket
    assert [t.id for t in await tickets.open_tickets()] == [ticket.id]
    await client.aclose()
    assert tracker(server.url, "read") == conversation


async def test_the_drill_backup_destroy_restore_brings_everything_back_with_aof_on(
        tmp_path: Path, servers: list[RedisProcess], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    original = start(servers, tmp_path / "live")
    entry, ticket, conversation = await write_state(original)
    assert "(masked)" not in json.dumps(conversation) and "0912345678" not in json.dumps(conversation)

    monkeypatch.setenv("REDIS_URL", original.url)
    assert main(["backup", str(tmp_path / "backups")]) == OK
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["redis_version"] == original.client().info("server")["redis_version"]
    assert manifest["counts_source"] == "snapshot" and manifest["aof"]["copied"] is True
    kinds = manifest["keys"]["0"]
    assert {"stream", "hash", "zset", "list", "string"} <= set(kinds)
    assert manifest["keys_total"] == original.client().dbsize()
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())
    assert {"dump.rdb", "aof/appendonly.aof.manifest"} <= set(manifest["files"])
    # the password is nowhere: not in the manifest, the log or the output
    printed = capsys.readouterr()
    for text in [(folder / MANIFEST).read_text(), caplog.text, printed.out, printed.err]:
        assert PASSWORD not in text and "not-a-secret" not in text

    # disaster: the server dies and its disk is gone
    original.kill()
    shutil.rmtree(tmp_path / "live")

    restored_dir = tmp_path / "restored"
    assert main(["restore", str(folder), "--redis-dir", str(restored_dir)]) == OK
    restored = start(servers, restored_dir)  # as production runs it: appendonly yes
    await assert_state(restored, entry, ticket, conversation)
    client = restored.client()
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert int(client.info("persistence")["aof_enabled"]) == 1

    # and the AOF is live after the restore: a write acknowledged now survives a SIGKILL
    FeedbackStore(client).add(FeedbackRecord(resident="p-77", channel="web", commune="vi-du", kind="comment",
                                             at=1_760_000_100.0), "sau khi khôi phục")
    restored.kill()
    restored = start(servers, restored_dir)
    assert len(FeedbackStore(restored.client()).records()) == 2
    assert tracker(restored.url, "read") == conversation


async def test_an_old_aof_in_the_target_folder_never_wins_over_the_restored_snapshot(
        tmp_path: Path, servers: list[RedisProcess]) -> None:
    live = start(servers, tmp_path / "live")
    entry = FeedbackStore(live.client()).add(feedback_record(), "dữ liệu cần khôi phục")
    folder = backup(parse_url(live.url), tmp_path / "backups")

    # the target folder still holds another Redis's append-only file (yesterday's, or an empty new one)
    stale = start(servers, tmp_path / "target")
    stale.client().set("stale:marker", "old AOF")
    stale.kill()
    naive = tmp_path / "naive"
    shutil.copytree(tmp_path / "target", naive)

    # the trap, for the record: only dropping dump.rdb in is silently ignored by Redis with appendonly yes
    shutil.copyfile(folder / "dump.rdb", naive / "dump.rdb")
    trapped = start(servers, naive)
    assert trapped.client().get("stale:marker") == "old AOF"
    assert FeedbackStore(trapped.client()).records() == []
    trapped.kill()

    # the tool: the old AOF is moved aside (kept), a new one is built from the snapshot
    assert main(["restore", str(folder), "--redis-dir", str(tmp_path / "target")]) == OK
    restored = start(servers, tmp_path / "target")
    assert [i for i, _ in FeedbackStore(restored.client()).records()] == [entry]
    assert restored.client().get("stale:marker") is None
    (aside,) = (tmp_path / "target").glob("before-restore-*")
    assert (aside / "appendonlydir" / "appendonly.aof.manifest").is_file()


def test_restore_refuses_a_folder_a_running_redis_works_in(tmp_path: Path, servers: list[RedisProcess]) -> None:
    live = start(servers, tmp_path / "live")
    live.client().set("k", "v")
    folder = backup(parse_url(live.url), tmp_path / "backups")
    before = sorted(p.name for p in (tmp_path / "live").iterdir())

    assert main(["restore", str(folder), "--redis-dir", str(tmp_path / "live")]) == REFUSED
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == before
    assert live.client().get("k") == "v"


def test_backup_never_overwrites_and_reports_a_wrong_password_without_printing_it(
        tmp_path: Path, servers: list[RedisProcess], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    live = start(servers, tmp_path / "live")
    live.client().set("k", "v")
    backup(parse_url(live.url), tmp_path / "backups", stamp="same")
    first = (tmp_path / "backups" / "same" / MANIFEST).read_text()
    with pytest.raises(Exception) as refused:
        backup(parse_url(live.url), tmp_path / "backups", stamp="same")
    assert getattr(refused.value, "code", None) == REFUSED
    assert (tmp_path / "backups" / "same" / MANIFEST).read_text() == first
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["same"]

    monkeypatch.setenv("REDIS_URL", f"redis://:wrong-guess-7@127.0.0.1:{live.port}/0")
    assert main(["backup", str(tmp_path / "other")]) == UNREACHABLE
    assert "wrong-guess-7" not in caplog.text and "refused the credentials" in caplog.text
    assert not (tmp_path / "other").exists()
