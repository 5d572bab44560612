"""The Sentinel component's start scripts (deploy/k8s/components/redis-sentinel), taken from the rendered ConfigMap
and run on this machine as three "pods" — a redis-server and a sentinel each, on free loopback ports, named
`localhost` as the pods are named by DNS — with Debian's redis-server.

Pod 0 starts as master and the others as its replicas; pod 0 is killed (both processes, SIGKILL); the two other
sentinels promote a replica and the client built from the redis+sentinel:// URL (common/redis.py) writes to it;
pod 0's scripts, started again, ask the sentinels first and come back as a replica of the new master, never as a
second master. Failover settings are shortened here (down-after 1 s) as in tests/integration/test_sentinel.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from common.redis import connect
from tests.integration.test_sentinel import free_port, wait_for
from tests.tools.test_k8s import render

pytestmark = pytest.mark.integration

SERVICE = "tro-ly"
HOST = "localhost"  # a name, not an address: the scripts and sentinels run on hostnames, as with pod DNS


class Pod:
    """One StatefulSet pod: redis.sh and sentinel.sh with the pod's environment, its data folder kept across
    restarts as the volume is."""

    def __init__(self, folder: Path, ordinal: int, scripts: Path, password: str) -> None:
        self.folder, self.ordinal, self.scripts, self.password = folder / f"redis-{ordinal}", ordinal, scripts, password
        self.redis_port, self.sentinel_port = free_port(), free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.starts = 0

    def start(self, master_port: int, ask_sentinel_port: int) -> None:
        """`master_port`: pod 0's Redis (MASTER_HOST); `ask_sentinel_port`: the sentinel the Service would reach."""
        self.starts += 1
        conf = self.folder / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ["PATH"], "REDIS_PASSWORD": self.password, "REDISCLI_AUTH": self.password,
               "POD_ORDINAL": str(self.ordinal),
               "REDIS_PORT": str(self.redis_port), "SENTINEL_PORT": str(self.sentinel_port),
               "BIND": "127.0.0.1 -::1", "ANNOUNCE_HOST": HOST, "DATA_DIR": str(self.folder / "data"),
               "CONF_DIR": str(conf), "MASTER_HOST": HOST, "MASTER_PORT": str(master_port),
               "SENTINEL_HOST": HOST, "SENTINEL_HOST_PORT": str(ask_sentinel_port),
               "DOWN_AFTER_MS": "1000", "FAILOVER_TIMEOUT_MS": "5000"}
        for name in ("redis", "sentinel"):
            with open(self.log(name), "a", encoding="utf-8") as log:
                self.procs[name] = subprocess.Popen(["sh", str(self.scripts / f"{name}.sh")], env=env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.{self.starts}.log"

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(encoding='utf-8')[-3000:]}" for p in sorted(self.folder.glob("*.log")))

    def redis(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.redis_port, password=self.password, decode_responses=True,
                           socket_timeout=2)

    def sentinel(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.sentinel_port, password=self.password, decode_responses=True,
                           socket_timeout=2)

    def master_named(self) -> tuple[str, int]:
        host, port = self.sentinel().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return str(host), int(port)

    def ready(self) -> None:  # what the readiness probes check
        wait_for(lambda: self.redis().ping() and self.sentinel().ping(), 20, f"pod {self.ordinal} to be ready",
                 self.logs)

    def kill(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[list[Pod]]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("needs redis-server and redis-cli (Debian's redis-server package)")
    config_map = next(d for d in render("overlays/province-sentinel")
                      if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("redis-sentinel-scripts"))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name, text in config_map["data"].items():
        (scripts / name).write_text(text, encoding="utf-8")
    password = secrets.token_hex(16)
    pods = [Pod(tmp_path, i, scripts, password) for i in range(3)]
    try:
        yield pods
    finally:
        for pod in pods:
            pod.kill()


def test_the_start_scripts_fail_over_and_a_restarted_master_comes_back_as_a_replica(pods: list[Pod]) -> None:
    first = pods[0]

    def logs() -> str:
        return "\n".join(pod.logs() for pod in pods)

    for pod in pods:  # in order, as the StatefulSet starts them; the "Service" is pod 0's sentinel
        pod.start(master_port=first.redis_port, ask_sentinel_port=first.sentinel_port)
        pod.ready()
    wait_for(lambda: first.redis().info("replication")["connected_slaves"] == 2, 20, "two replicas", logs)
    for pod in pods:  # each sentinel found the replicas and the two other sentinels through the master
        wait_for(lambda pod=pod: len(pod.sentinel().execute_command("SENTINEL", "REPLICAS", SERVICE)) == 2
                 and len(pod.sentinel().execute_command("SENTINEL", "SENTINELS", SERVICE)) == 2, 20,
                 f"sentinel {pod.ordinal} to see the others", logs)
        assert pod.master_named() == (HOST, first.redis_port)

    # the password: required, and only in config files nobody else can read, never on a command line
    for port in (first.redis_port, first.sentinel_port):  # the sentinels too: they could be told to fail over
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=HOST, port=port).ping()
    for pod in pods:
        for conf in (pod.folder / "conf").iterdir():
            assert stat.S_IMODE(conf.stat().st_mode) == 0o600, conf
        for proc in pod.procs.values():
            assert pod.password.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()

    url = (f"redis+sentinel://:{first.password}@{HOST}:{pods[0].sentinel_port},{HOST}:{pods[1].sentinel_port},"
           f"{HOST}:{pods[2].sentinel_port}/{SERVICE}/0?sentinel_password={first.password}")
    client = connect(url)
    for i in range(50):
        client.xadd("feedback:test", {"n": str(i)})
    assert client.execute_command("WAIT", 2, 2000) == 2

    first.kill()  # the whole pod: its redis-server and its sentinel
    started = time.monotonic()
    for i in range(50, 100):  # the same client follows the two remaining sentinels to the promoted replica
        client.xadd("feedback:test", {"n": str(i)})
    took = time.monotonic() - started
    _, new_port = pods[1].master_named()
    new_master = next(pod for pod in pods if pod.redis_port == new_port)
    assert new_master is not first and pods[2].master_named() == (HOST, new_port)
    assert [f["n"] for _, f in new_master.redis().xrange("feedback:test")] == [str(i) for i in range(100)]
    assert took < 20, f"writes waited {took:.1f} s for the failover"

    # pod 0 again, on its old data: the Service now reaches a surviving sentinel, which names the new master
    first.start(master_port=first.redis_port, ask_sentinel_port=pods[1].sentinel_port)
    first.ready()
    assert first.redis().info("replication")["role"] == "slave"  # from its first answer: never a second master
    assert f"starting as a replica of {HOST} {new_port}" in first.log("redis").read_text(encoding="utf-8")
    assert f"monitoring {HOST} {new_port}" in first.log("sentinel").read_text(encoding="utf-8")
    wait_for(lambda: first.redis().info("replication")["master_link_status"] == "up", 20, "pod 0 to sync", logs)
    wait_for(lambda: first.redis().xlen("feedback:test") == 100, 10, "pod 0 to hold all 100 entries", logs)
    with pytest.raises(redis.ReadOnlyError):
        first.redis().xadd("feedback:test", {"n": "on a replica"})
    wait_for(lambda: new_master.redis().info("replication")["connected_slaves"] == 2, 20, "two replicas again", logs)
    assert [p.redis().info("replication")["role"] for p in pods].count("master") == 1
    assert first.master_named() == (HOST, new_port)
    client.xadd("feedback:test", {"n": "100"})
    assert new_master.redis().xlen("feedback:test") == 101
