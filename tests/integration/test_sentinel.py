"""Redis behind Sentinel: a real master, replica and sentinel (redis-server from Debian), the master killed mid-run.

`redis+sentinel://` URLs (common/redis.py) let every process follow a failover: the client asks the sentinels for the
master, and after the master dies its retries reconnect to the promoted replica. Writes are made durable on the
replica (`WAIT 1`) before the kill, because Redis replication is asynchronous: what the master acknowledged but had
not yet sent is lost in any failover, Sentinel or not (README, "Redis with failover").
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from common.redis import connect, connect_async
from tools.redis_backup import BackupError, sentinel_target

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
SERVICE = "tro-ly"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str] = lambda: "") -> Any:
    """The first true value of check() within timeout seconds (Redis and socket errors count as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


class Cluster:
    """A master, one replica and one sentinel (quorum 1) on free loopback ports, in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.master, self.replica, self.sentinel = free_port(), free_port(), free_port()
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> None:
        work = self.folder / name
        work.mkdir()
        self.procs[name] = subprocess.Popen(["redis-server", *args, "--dir", str(work)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)

    def up(self) -> None:
        base = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        self.start("master", "--port", str(self.master), *base)
        wait_for(lambda: redis.Redis(port=self.master).ping(), 10, "the master")
        self.start("replica", "--port", str(self.replica), *base, "--replicaof", "127.0.0.1", str(self.master))
        wait_for(lambda: redis.Redis(port=self.replica).info("replication")["master_link_status"] == "up", 10,
                 "the replica to sync")
        conf = self.folder / "sentinel.conf"
        conf.write_text(f"port {self.sentinel}\nbind 127.0.0.1\n"
                        f"sentinel monitor {SERVICE} 127.0.0.1 {self.master} 1\n"
                        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                        f"sentinel failover-timeout {SERVICE} 5000\n")
        work = self.folder / "sentinel"
        work.mkdir()
        self.procs["sentinel"] = subprocess.Popen(["redis-server", str(conf), "--sentinel", "--dir", str(work)],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                  start_new_session=True)
        sentinel = redis.Redis(port=self.sentinel, decode_responses=True)
        wait_for(lambda: sentinel.execute_command("SENTINEL", "REPLICAS", SERVICE), 15, "the sentinel to see the replica")

    def master_port(self) -> int:
        host_port = redis.Redis(port=self.sentinel, decode_responses=True).execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(host_port[1])

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(5)

    def down(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def test_a_client_follows_the_failover_and_nothing_replicated_is_lost(cluster: Cluster) -> None:
    url = f"redis+sentinel://127.0.0.1:{cluster.sentinel}/{SERVICE}/0"
    client = connect(url)
    for i in range(50):
        client.xadd("feedback:test", {"n": str(i)})
    assert client.execute_command("WAIT", 1, 2000) == 1  # on the replica before the master dies
    assert cluster.master_port() == cluster.master

    cluster.kill("master")
    started = time.monotonic()
    for i in range(50, 100):  # the same client: its retries find the promoted replica
        client.xadd("feedback:test", {"n": str(i)})
    took = time.monotonic() - started

    assert cluster.master_port() == cluster.replica
    assert [fields["n"] for _, fields in client.xrange("feedback:test")] == [str(i) for i in range(100)]
    assert took < 20, f"writes waited {took:.1f} s for the failover"

    async def read_async() -> int:  # the asyncio client (gateways, Rasa's stores) finds the new master too
        async_client = connect_async(url)
        try:
            return int(await async_client.xlen("feedback:test"))
        finally:
            await async_client.aclose()

    assert asyncio.run(read_async()) == 100
    # `make backup` reads whichever server is master now
    assert (sentinel_target(url).port, sentinel_target(url).db) == (cluster.replica, 0)


def test_a_backup_with_no_sentinel_answering_says_so(cluster: Cluster) -> None:
    cluster.kill("sentinel")
    with pytest.raises(BackupError, match="no sentinel names a master") as caught:
        sentinel_target(f"redis+sentinel://:pw@127.0.0.1:{cluster.sentinel}/{SERVICE}/0")
    assert caught.value.code == 3 and "pw" not in str(caught.value)


def test_rasa_s_redis_client_reaches_the_master_through_sentinel(cluster: Cluster) -> None:
    # Rasa's venv has an older redis-py (4.6): its tracker and lock stores build clients with the same code
    if not RASA_PY.exists():
        pytest.skip("no Rasa venv: run `make setup`")
    url = f"redis+sentinel://127.0.0.1:{cluster.sentinel}/{SERVICE}"
    code = ("import asyncio\n"
            "from rasa_addons.lock_store import normalise_url\n"
            "from common.redis import connect, connect_async\n"
            f"url = normalise_url({url!r})\n"
            "connect(url).set('lock-check', 'sync')\n"
            "async def main():\n"
            "    client = connect_async(url)\n"
            "    print(url.rsplit('/', 1)[-1], await client.get('lock-check'))\n"
            "asyncio.run(main())\n")
    done = subprocess.run([str(RASA_PY), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "RASA_WITHOUT_TENSORFLOW": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["1", "sync"]  # Rasa's lock store keeps its own database (1)
    assert redis.Redis(port=cluster.master, db=1, decode_responses=True).get("lock-check") == "sync"
