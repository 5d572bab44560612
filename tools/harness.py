"""Run the assistant's real processes on loopback for the fault and fuzz runs (tools/chaos.py, tools/fuzz.py).

One Stack is: a private redis-server (append-only file, fsync always) in its own folder, the action server, N Rasa
replicas behind haproxy (Debian's package; a small Python round-robin proxy when haproxy is missing outside CI),
M web gateways behind haproxy, and optionally the Zalo OA, Zalo Bot and Telegram gateways pointed at fake channel APIs
that run in the calling process. Every process writes its own log under the run folder; any of them can be killed
with SIGKILL and started again, which is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
# Rasa's command line through rasa_addons, without TensorFlow, as tools/stack.sh and the image start it
RASA = [str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-m", "rasa_addons"]
MODEL = ROOT / "models" / "assistant.tar.gz"
FEEDBACK_ID_KEY = "harness-pseudonym-key-not-a-secret-0123456789"


_taken: set[int] = set()


def free_port() -> int:
    """A free port below the kernel's ephemeral range, so an outgoing connection cannot take it before our server
    binds it (a port the kernel hands out with bind(0) can be reused that way)."""
    low, _ = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, max(20001, low))
        if port in _taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


@dataclass
class Service:
    """One process of the stack: started, killed with SIGKILL, started again; output appended to its log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    health: str = ""  # an http URL answering 200 when ready, or "redis://…"
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    unexpected_exits: int = 0

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} start {self.name} ===\n".encode())
            out.flush()
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        self.starts += 1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check(self) -> None:
        """Count an exit we did not cause (a crash)."""
        if self.popen is not None and self.popen.poll() is not None:
            self.unexpected_exits += 1
            self.popen = None

    def kill(self) -> None:
        """kill -9 the process and everything it started."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        self.popen = None
        self.kills += 1

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.popen = None

    async def ready(self, timeout: float) -> None:
        """Wait until the health check answers; raise with the log's tail if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                break
            if await self._healthy():
                return
            await asyncio.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f} s:\n{tail}")

    async def _healthy(self) -> bool:
        if not self.health:
            return self.alive()
        if self.health.startswith("redis://"):
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(self.health, socket_connect_timeout=0.5)
            try:
                return bool(await client.ping())
            except Exception:  # noqa: BLE001 - not up yet
                return False
            finally:
                await client.aclose()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
                async with session.get(self.health) as response:
                    return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False


@dataclass
class Stack:
    """The processes of one run and where to reach them."""

    run_dir: Path
    rasa_replicas: int = 2
    web_replicas: int = 2
    action_replicas: int = 1  # more than one: behind haproxy, which Rasa's action endpoint points at
    gateway_replicas: int = 1  # replicas of each Zalo / Telegram gateway; more than one: behind haproxy
    embedding_backend: str = "sentence-transformers"  # what production runs; `make index` built its vectors
    zalo_oa_api: str = ""  # base URL of a fake Zalo OA API: adds the Zalo OA gateway
    zalo_bot_api: str = ""  # base URL of a fake Zalo Bot API: adds the Zalo Bot gateway (webhook mode)
    telegram_api: str = ""  # base URL of a fake Telegram API: adds the Telegram gateway (webhook mode)
    telegram_team_chat: int = -1001234567890
    services: dict[str, Service] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    balancer: str = ""

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name in ["redis", "actions", "rasa_lb", "web_lb", "zalo_oa", "zalo_bot", "telegram",
                     *(f"rasa{i}" for i in range(1, self.rasa_replicas + 1)),
                     *(f"web{i}" for i in range(1, self.web_replicas + 1)),
                     *self.replicas("actions"), *self.replicas("zalo_oa"), *self.replicas("zalo_bot"),
                     *self.replicas("telegram")]:
            self.ports[name] = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        self.rasa_url = f"http://127.0.0.1:{self.ports['rasa_lb']}"
        self.web_url = f"http://127.0.0.1:{self.ports['web_lb']}"
        self._build()

    def replicas(self, kind: str) -> list[str]:
        """The service names of one kind: `kind` itself when it runs once, else kind1, kind2… behind haproxy, whose
        frontend takes `ports[kind]` (so callers always reach `ports[kind]`)."""
        n = self.action_replicas if kind == "actions" else self.gateway_replicas
        return [kind] if n == 1 else [f"{kind}{i}" for i in range(1, n + 1)]

    # --- the processes -----------------------------------------------------------------------------------------
    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "RASA_", "ZALO_", "TELEGRAM_",
                                                                       "WEB_", "DASHBOARD_"))}
        env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false", FEEDBACK_ID_KEY=FEEDBACK_ID_KEY, COMMUNE_ID="vi-du",
                   REDIS_URL=self.redis_url, PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def _add(self, name: str, argv: list[str], health: str = "", **env: str) -> None:
        self.services[name] = Service(name, argv, self._env(**env), self.run_dir / "logs" / f"{name}.log", health)

    def _build(self) -> None:
        data = self.run_dir / "redis"
        data.mkdir(exist_ok=True)
        self._add("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.ports["redis"]),
                            "--dir", str(data), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                  health=self.redis_url)
        for name in self.replicas("actions"):
            self._add(name, [str(APP_PY), "-m", "actions.server", "--port", str(self.ports[name])],
                      health=f"http://127.0.0.1:{self.ports[name]}/health",
                      SANIC_HOST="127.0.0.1", EMBEDDING_BACKEND=self.embedding_backend, HOSTNAME=name)
        for i in range(1, self.rasa_replicas + 1):
            port = self.ports[f"rasa{i}"]
            self._add(f"rasa{i}", [*RASA, "run", "-i", "127.0.0.1", "-p", str(port), "--model", str(MODEL),
                                   "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
                      health=f"http://127.0.0.1:{port}/webhooks/rest/",
                      ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.ports['actions']}/webhook",
                      TRACKER_STORE_URL=self.redis_url, LOCK_STORE_URL=self.redis_url, RASA_WITHOUT_TENSORFLOW="1")
        gateway = {"RASA_URL": self.rasa_url, "GATEWAY_HOST": "127.0.0.1", "RASA_TIMEOUT_S": "30"}
        for i in range(1, self.web_replicas + 1):
            self._add(f"web{i}", [str(APP_PY), "-m", "bot.web"], health=f"http://127.0.0.1:{self.ports[f'web{i}']}/healthz",
                      WEB_PORT=str(self.ports[f"web{i}"]), WEB_RATE_LIMIT="1000000", HOSTNAME=f"web{i}", **gateway)
        if self.zalo_oa_api:
            from tests.auxil import fake_zalo_oa

            for name in self.replicas("zalo_oa"):
                self._add(name, [str(APP_PY), "-m", "bot.zalo.oa"], health=f"http://127.0.0.1:{self.ports[name]}/healthz",
                          ZALO_OA_APP_ID=fake_zalo_oa.APP_ID, ZALO_OA_SECRET_KEY=fake_zalo_oa.OA_SECRET,
                          ZALO_APP_SECRET=fake_zalo_oa.APP_SECRET, ZALO_OA_ACCESS_TOKEN="access-1",
                          ZALO_OA_REFRESH_TOKEN="refresh-1", ZALO_OA_API_BASE=self.zalo_oa_api,
                          ZALO_OAUTH_BASE=self.zalo_oa_api, ZALO_OA_PORT=str(self.ports[name]),
                          HOSTNAME=name.replace("_", "-"), **gateway)
        if self.zalo_bot_api:
            from tests.auxil.fake_zalo_bot import TOKEN

            for name in self.replicas("zalo_bot"):
                self._add(name, [str(APP_PY), "-m", "bot.zalo.bot_platform"],
                          health=f"http://127.0.0.1:{self.ports[name]}/healthz",
                          ZALO_BOT_TOKEN=TOKEN, ZALO_BOT_MODE="webhook", ZALO_BOT_WEBHOOK_SECRET=ZALO_BOT_SECRET,
                          ZALO_BOT_API_BASE=self.zalo_bot_api, ZALO_BOT_PORT=str(self.ports[name]),
                          HOSTNAME=name.replace("_", "-"), **gateway)
        if self.telegram_api:
            from tests.auxil.fake_telegram import TOKEN as TG_TOKEN

            for name in self.replicas("telegram"):
                self._add(name, [str(APP_PY), "-m", "bot.telegram"],
                          health=f"http://127.0.0.1:{self.ports[name]}/healthz",
                          TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_TEAM_CHAT_ID=str(self.telegram_team_chat),
                          TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
                          TELEGRAM_API_BASE=self.telegram_api, TELEGRAM_PORT=str(self.ports[name]),
                          HOSTNAME=name, **gateway)
        self._add_balancer()

    def _frontends(self) -> list[Frontend]:
        """What haproxy balances: the Rasa and web replicas always, and each kind running more than once."""
        def servers(names: list[str]) -> list[tuple[str, int]]:
            return [(name, self.ports[name]) for name in names]

        out = [Frontend("rasa", self.ports["rasa_lb"], servers([f"rasa{i}" for i in range(1, self.rasa_replicas + 1)]),
                        "/webhooks/rest/"),
               Frontend("web", self.ports["web_lb"], servers([f"web{i}" for i in range(1, self.web_replicas + 1)]),
                        "/healthz")]
        if self.action_replicas > 1:
            out.append(Frontend("actions", self.ports["actions"], servers(self.replicas("actions")), "/health"))
        for kind, wanted in (("zalo_oa", self.zalo_oa_api), ("zalo_bot", self.zalo_bot_api),
                             ("telegram", self.telegram_api)):
            if wanted and self.gateway_replicas > 1:
                out.append(Frontend(kind, self.ports[kind], servers(self.replicas(kind)), "/healthz"))
        return out

    def _add_balancer(self) -> None:
        frontends = self._frontends()
        haproxy = shutil.which("haproxy")
        if haproxy:
            self.balancer = "haproxy"
            config = self.run_dir / "haproxy.cfg"
            config.write_text(haproxy_config(frontends))
            self._add("balancer", [haproxy, "-f", str(config), "-db"],
                      health=f"http://127.0.0.1:{self.ports['rasa_lb']}/webhooks/rest/")
            return
        if os.environ.get("CI") == "true":
            raise RuntimeError("haproxy is not installed (apt-get install haproxy; .ci/run does)")
        self.balancer = "python"
        argv = [str(APP_PY), "-m", "tools.harness", "balance",
                *(f"{f.port}=" + ",".join(str(p) for _, p in f.servers) for f in frontends)]
        self._add("balancer", argv, health=f"http://127.0.0.1:{self.ports['rasa_lb']}/webhooks/rest/")

    # --- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self, timeout: float = 240.0) -> None:
        """Start everything and wait until each part answers (Rasa replicas load their model in parallel)."""
        order = ["redis", *self.replicas("actions"), *(n for n in self.services if n.startswith("rasa")), "balancer",
                 *(n for n in self.services if n.startswith(("web", "zalo", "telegram")))]
        self.services["redis"].start()
        await self.services["redis"].ready(30)
        for name in order[1:]:
            self.services[name].start()
        await asyncio.gather(*(self.services[name].ready(timeout) for name in order[1:]))

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def logs(self) -> list[Path]:
        return sorted((self.run_dir / "logs").glob("*.log"))


ZALO_BOT_SECRET = "harness-zalo-bot-secret"
TELEGRAM_SECRET = "harness-telegram-secret"


@dataclass
class Frontend:
    """One haproxy frontend on loopback and the replicas behind it."""

    name: str
    port: int
    servers: list[tuple[str, int]]
    check: str


def haproxy_config(frontends: list[Frontend]) -> str:
    """One frontend per balanced kind on loopback; a request a dead server could not take goes to another one."""
    lines = ["global", "  maxconn 4000",
             "defaults", "  mode http", "  timeout connect 1s", "  timeout client 120s", "  timeout server 120s",
             "  retries 3", "  option redispatch",
             # requests carry a message id (Rasa, gateways' webhooks), so sending one again to another replica is safe
             "  retry-on conn-failure empty-response"]
    for front in frontends:
        lines += [f"frontend {front.name}", f"  bind 127.0.0.1:{front.port}", f"  default_backend {front.name}",
                  f"backend {front.name}", "  balance roundrobin", f"  option httpchk GET {front.check}",
                  "  default-server inter 500ms fall 2 rise 1"]
        lines += [f"  server {server} 127.0.0.1:{port} check" for server, port in front.servers]
    return "\n".join([*lines, ""])


# --- a fallback balancer (round robin with failover) for machines without haproxy ------------------------------


async def _balance(listen: int, targets: list[int]) -> None:
    from aiohttp import web

    turn = 0

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal turn
        body = await request.read()
        for attempt in range(len(targets) * 2):
            port = targets[(turn + attempt) % len(targets)]
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
                    async with session.request(request.method, f"http://127.0.0.1:{port}{request.path_qs}",
                                               data=body, headers={"Content-Type": request.content_type}) as resp:
                        payload = await resp.read()
                        turn += 1
                        return web.Response(status=resp.status, body=payload,
                                            content_type=resp.content_type)
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=503, text="no server")

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", listen).start()


async def _balance_all(specs: list[str]) -> None:
    for spec in specs:
        listen, targets = spec.split("=")
        if targets:  # a stack without web gateways has nothing behind the web port
            await _balance(int(listen), [int(p) for p in targets.split(",")])
    await asyncio.Event().wait()



def all_keys_text(redis_url: str) -> dict[str, str]:
    """Every key of a Redis database and its content as text (what a scanner for personal data reads)."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=False)
    out: dict[str, str] = {}
    for raw_key in client.scan_iter(count=1000):
        key = raw_key.decode(errors="replace")
        raw_kind = client.type(raw_key)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else str(raw_kind)
        value: Any
        if kind == "string":
            value = client.get(raw_key)
        elif kind == "list":
            value = client.lrange(raw_key, 0, -1)
        elif kind == "hash":
            value = client.hgetall(raw_key)
        elif kind == "set":
            value = client.smembers(raw_key)
        elif kind == "zset":
            value = client.zrange(raw_key, 0, -1, withscores=True)
        elif kind == "stream":
            value = client.xrange(raw_key)
        else:
            value = ""
        out[key] = _text(value)
    client.close()
    return out


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict):
        return " ".join(f"{_text(k)}={_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return " ".join(_text(v) for v in value)
    return str(value)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "balance":
        asyncio.run(_balance_all(sys.argv[2:]))
