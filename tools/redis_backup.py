"""Back up and restore the assistant's Redis (feedback, volunteer tickets, conversations): an RDB snapshot + AOF copy.

backup: streams a consistent RDB snapshot over the Redis connection (the replication handshake `redis-cli --rdb`
uses, so it works for a Redis in a container or pod), copies the multi-part AOF when Redis's data folder is on this
machine, loads the snapshot into a private redis-server to prove it loads and to count its keys, and writes
`manifest.json` into a new timestamped folder. restore: into a stopped Redis's data folder, rebuilding the AOF from
the snapshot, because a Redis with `appendonly yes` loads its AOF and ignores dump.rdb. docs/operations-backup.md
has the whole procedure.

    REDIS_URL=redis://:secret@127.0.0.1:6379/0 python tools/redis_backup.py backup backups
    python tools/redis_backup.py restore backups/20250101T020000Z --redis-dir /var/lib/redis

Exit codes: 0 done, 2 bad arguments or settings, 3 Redis unreachable or failing, 4 refused (the backup folder exists,
a Redis runs on the target folder), 5 verification failed (checksums, an unloadable snapshot, key counts).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger("redis_backup")

OK, USAGE, UNREACHABLE, REFUSED, MISMATCH = 0, 2, 3, 4, 5
MANIFEST = "manifest.json"
RDB_NAME = "dump.rdb"
AOF_FOLDER = "aof"
FORMAT = 1
HOUR = 3600
CHUNK = 1 << 16


class BackupError(RuntimeError):
    """A failure with its exit code; the message is safe to print (never holds a password)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """Where a Redis listens and how to log in, parsed from a redis://, rediss:// or unix:// URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    unix_socket: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    db: int = 0
    tls: bool = False
    verify_tls: bool = True

    def display(self) -> str:
        """The address without credentials, for log lines and the manifest."""
        if self.unix_socket:
            return f"unix://{self.unix_socket}?db={self.db}"
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/{self.db}"

    def is_local(self) -> bool:
        """True when Redis runs on this machine, so its data folder may be read directly."""
        return bool(self.unix_socket) or self.host in ("127.0.0.1", "::1", "localhost")

    def client(self, db: int | None = None) -> Any:
        """A redis-py client for one database."""
        import redis

        common: dict[str, Any] = {"username": self.username or None, "password": self.password or None,
                                  "db": self.db if db is None else db, "decode_responses": True,
                                  "socket_timeout": 30, "socket_connect_timeout": 5}
        if self.unix_socket:
            return redis.Redis(unix_socket_path=self.unix_socket, **common)
        tls: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": "required" if self.verify_tls else "none"} if self.tls else {}
        return redis.Redis(host=self.host, port=self.port, **common, **tls)


def sentinel_target(url: str) -> Target:
    """The current master behind a `redis+sentinel://` URL, as the sentinels name it (a backup reads the master)."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import redis
    from redis.sentinel import MasterNotFoundError, Sentinel

    from common.redis import parse_sentinel_url, sentinels

    try:
        target = parse_sentinel_url(url)
    except ValueError:
        raise BackupError("REDIS_URL is not a usable redis+sentinel:// URL (sentinels, then /service[/db])",
                          USAGE) from None
    try:
        host, port = sentinels(Sentinel, target, timeout=5).discover_master(target.service)
    except (MasterNotFoundError, redis.RedisError, OSError):
        raise BackupError(f"no sentinel names a master for {target.service!r}", UNREACHABLE) from None
    return Target(host=str(host), port=int(port), password=target.password or "", db=target.db)


def parse_url(url: str) -> Target:
    """Parse a Redis URL; the error never repeats the URL (it may hold a password)."""
    if url.startswith("redis+sentinel://"):
        return sentinel_target(url)
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        path_db = "" if parts.scheme == "unix" else parts.path.strip("/")
        db = int(query.get("db", [""])[0] or path_db or 0)
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
        if parts.scheme == "unix":
            if not parts.path:
                raise BackupError("REDIS_URL is not a usable Redis URL (no socket path)", USAGE)
            return Target(unix_socket=parts.path, username=username, password=password, db=db)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise BackupError("REDIS_URL is not a usable Redis URL (not redis://, rediss:// or unix://)", USAGE)
        verify = query.get("ssl_cert_reqs", ["required"])[0].lower() not in ("none", "cert_none")
        return Target(host=parts.hostname, port=parts.port or 6379, username=username, password=password, db=db,
                      tls=parts.scheme == "rediss", verify_tls=verify)
    except ValueError:
        # urlsplit's and int()'s messages quote the text they choke on, which may hold the password
        raise BackupError("REDIS_URL is not a usable Redis URL (malformed port or database number)", USAGE) from None


def target_from_env(env: dict[str, str] | os._Environ[str] = os.environ) -> Target:
    """The Redis to back up, from REDIS_URL (a secret: never taken from the command line)."""
    url = env.get("REDIS_URL", "").strip()
    if not url:
        raise BackupError("REDIS_URL is not set (e.g. redis://:PASSWORD@127.0.0.1:6379/0)", USAGE)
    return parse_url(url)


# ---- The snapshot: Redis's replication handshake, as `redis-cli --rdb` does it ------------------------------------


def _resp(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _open_socket(target: Target, timeout: float) -> socket.socket:
    if target.unix_socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(target.unix_socket)
        return sock
    sock = socket.create_connection((target.host, target.port), timeout=timeout)
    if not target.tls:
        return sock
    context = ssl.create_default_context()
    if not target.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=target.host)


def _reply(reader: Any) -> bytes:
    line = reader.readline()
    if not line:
        raise BackupError("Redis closed the connection", UNREACHABLE)
    return bytes(line.rstrip(b"\r\n"))


def fetch_rdb(target: Target, out: Path, timeout: float = 60.0) -> str:
    """Stream a fresh RDB snapshot of the whole server into `out`; return its sha256."""
    try:
        sock = _open_socket(target, timeout)
    except OSError as exc:
        raise BackupError(f"cannot connect to {target.display()}: {exc.__class__.__name__}", UNREACHABLE) from None
    try:
        with sock, sock.makefile("rb") as reader:
            if target.password:
                sock.sendall(_resp("AUTH", target.username, target.password) if target.username
                             else _resp("AUTH", target.password))
                if _reply(reader).startswith(b"-"):
                    raise BackupError(f"Redis at {target.display()} refused the credentials in REDIS_URL", UNREACHABLE)
            # capa eof: a diskless transfer (nothing written on Redis's disk); rdb-only (7.0+): no replication stream
            # after the snapshot. An older Redis answers an error to either, and still sends a snapshot.
            for option in (("capa", "eof"), ("rdb-only", "1")):
                sock.sendall(_resp("REPLCONF", *option))
                _reply(reader)
            sock.sendall(_resp("SYNC"))
            header = b""
            while not header:  # a newline every second while Redis prepares the snapshot
                header = _reply(reader)
            if not header.startswith(b"$"):
                raise BackupError(f"Redis refused to send a snapshot: {header[:200].decode(errors='replace')}",
                                  UNREACHABLE)
            digest = hashlib.sha256()
            with out.open("wb") as f:
                if header.startswith(b"$EOF:"):
                    _copy_until_marker(reader, header[5:], f, digest)
                else:
                    _copy_exactly(reader, int(header[1:]), f, digest)
                f.flush()
                os.fsync(f.fileno())
    except OSError as exc:  # a timeout or a reset while streaming
        raise BackupError(f"the snapshot transfer from {target.display()} failed: {exc.__class__.__name__}",
                          UNREACHABLE) from None
    check_rdb(out)
    return digest.hexdigest()


def _copy_exactly(reader: Any, size: int, f: Any, digest: Any) -> None:
    left = size
    while left:
        chunk = reader.read(min(CHUNK, left))
        if not chunk:
            raise BackupError("the snapshot stream ended early", UNREACHABLE)
        f.write(chunk)
        digest.update(chunk)
        left -= len(chunk)


def _copy_until_marker(reader: Any, marker: bytes, f: Any, digest: Any) -> None:
    pending = b""
    while True:
        chunk = reader.read1(CHUNK)
        if not chunk:
            raise BackupError("the snapshot stream ended before its end marker", UNREACHABLE)
        data = pending + chunk
        at = data.find(marker)
        body, pending = (data[:at], b"") if at >= 0 else (data[:-len(marker)], data[-len(marker):])
        f.write(body)
        digest.update(body)
        if at >= 0:
            return


def check_rdb(path: Path) -> None:
    """Refuse a file that is not a whole RDB: the `REDIS` magic, then the EOF opcode before its 8-byte checksum."""
    size = path.stat().st_size
    with path.open("rb") as f:
        magic = f.read(5)
        f.seek(max(0, size - 9))
        eof = f.read(1)
    if magic != b"REDIS" or size < 18 or eof != b"\xff":
        raise BackupError(f"{path} is not a complete RDB file", MISMATCH)


def sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---- Counting keys, and checking counts later while keys with a TTL keep expiring --------------------------------


def count_keys(target: Target) -> dict[str, dict[str, dict[str, Any]]]:
    """Per database and type: how many keys, and how many expire in each hour (epoch hour → count)."""
    counts: dict[str, dict[str, dict[str, Any]]] = {}
    for name in sorted(target.client().info("keyspace"), key=lambda n: int(n[2:])):
        client = target.client(int(name[2:]))
        per_type = _count_db(client)
        client.close()
        if per_type:
            counts[name[2:]] = {kind: per_type[kind] for kind in sorted(per_type)}
    return counts


def _count_db(client: Any) -> dict[str, dict[str, Any]]:
    per_type: dict[str, dict[str, Any]] = {}
    batch: list[str] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.type(key)
            pipe.pttl(key)
        replies = pipe.execute()
        now_ms = time.time() * 1000
        for kind, ttl in zip(replies[::2], replies[1::2], strict=True):
            if kind == "none":  # expired between SCAN and TYPE
                continue
            entry = per_type.setdefault(kind, {"keys": 0, "expiring": {}})
            entry["keys"] += 1
            if ttl is not None and ttl >= 0:
                hour = str(int((now_ms + ttl) / 1000 // HOUR))
                entry["expiring"][hour] = entry["expiring"].get(hour, 0) + 1
        batch.clear()

    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            flush()
    flush()
    return per_type


def expected_range(entry: dict[str, Any], now: float) -> tuple[int, int]:
    """How many of these keys may still exist at `now`: keys whose expiry hour has fully passed are gone for sure,
    keys expiring in the current hour may or may not be."""
    total = int(entry["keys"])
    gone = sum(n for hour, n in entry.get("expiring", {}).items() if (int(hour) + 1) * HOUR <= now)
    maybe = sum(n for hour, n in entry.get("expiring", {}).items() if int(hour) * HOUR <= now < (int(hour) + 1) * HOUR)
    return total - gone - maybe, total - gone


def compare_counts(expected: dict[str, dict[str, dict[str, Any]]], actual: dict[str, dict[str, dict[str, Any]]],
                   now: float) -> list[str]:
    """Differences between a manifest's counts and a restored Redis's, as sentences (empty when they match)."""
    problems = []
    for db in sorted(set(expected) | set(actual), key=int):
        for kind in sorted(set(expected.get(db, {})) | set(actual.get(db, {}))):
            low, high = expected_range(expected.get(db, {}).get(kind, {"keys": 0}), now)
            got = int(actual.get(db, {}).get(kind, {"keys": 0})["keys"])
            if not low <= got <= high:
                want = str(low) if low == high else f"{low}–{high}"
                problems.append(f"db {db}, {kind}: {got} keys, the backup has {want}")
    return problems


def total_keys(counts: dict[str, dict[str, dict[str, Any]]]) -> int:
    """All keys in a count table."""
    return sum(int(e["keys"]) for kinds in counts.values() for e in kinds.values())


# ---- A private redis-server on a unix socket: to load a snapshot, count it, rebuild an AOF from it ---------------


def redis_server_binary(explicit: str = "") -> str:
    """The redis-server to run (from --redis-server, $REDIS_SERVER or PATH)."""
    binary = explicit or os.environ.get("REDIS_SERVER", "") or shutil.which("redis-server") or ""
    if not binary:
        raise BackupError("redis-server is not installed here (or pass --redis-server)", USAGE)
    return binary


@contextlib.contextmanager
def private_redis(binary: str, data_dir: Path, *, dbfilename: str, appendonly: bool, appenddirname: str,
                  appendfilename: str, databases: int, timeout: float = 300.0) -> Iterator[Target]:
    """A redis-server on `data_dir`, reachable only through a unix socket, never saving an RDB; stopped on exit."""
    import redis

    with tempfile.TemporaryDirectory(prefix="rbk-") as run:
        sock = Path(run) / "redis.sock"
        argv = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700", "--dir",
                str(data_dir), "--dbfilename", dbfilename, "--appendonly", "yes" if appendonly else "no",
                "--appenddirname", appenddirname, "--appendfilename", appendfilename, "--save", "",
                "--databases", str(databases), "--logfile", str(Path(run) / "redis.log")]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = Target(unix_socket=str(sock))
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log = (Path(run) / "redis.log").read_text(errors="replace")[-1500:]
                    raise BackupError(f"redis-server could not load {data_dir}:\n{log}", MISMATCH)
                with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                    if not int(target.client().info("persistence").get("loading", 1)):
                        break
                if time.monotonic() > deadline:
                    raise BackupError(f"redis-server did not finish loading {data_dir} in {timeout:.0f}s", MISMATCH)
                time.sleep(0.05)
            yield target
        finally:
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: a clean shutdown that syncs the AOF; `save ""` writes no RDB
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def databases_of(client: Any) -> int:
    """The server's `databases` setting (16 when CONFIG is disabled)."""
    import redis

    try:
        return int(client.config_get("databases").get("databases", 16))
    except redis.ResponseError:
        return 16


# ---- Copying the append-only files of a local Redis -------------------------------------------------------------


def aof_files(manifest_text: str) -> list[str]:
    """The file names a Redis 7 AOF manifest lists (`file <name> seq <n> type <b|h|i>` per line)."""
    names = []
    for line in manifest_text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "file":
            name = words[1]
            if "/" in name or name in (".", ".."):
                raise BackupError(f"unexpected file name in the AOF manifest: {name!r}", MISMATCH)
            names.append(name)
    return names


def copy_aof(client: Any, target: Target, dest: Path) -> dict[str, Any]:
    """Copy Redis's multi-part AOF into `dest` when its data folder is on this machine; say why not otherwise."""
    import redis

    if not target.is_local():
        return {"copied": False, "reason": "Redis is not on this machine (the RDB snapshot is the backup)"}
    try:
        config = client.config_get("*")
    except redis.ResponseError:
        return {"copied": False, "reason": "CONFIG is disabled on this Redis"}
    if config.get("appendonly") != "yes":
        return {"copied": False, "reason": "appendonly is off"}
    folder = Path(config.get("dir", "")) / config.get("appenddirname", "appendonlydir")
    manifest = folder / f"{config.get('appendfilename', 'appendonly.aof')}.manifest"
    if not manifest.is_file() or not os.access(manifest, os.R_OK):
        return {"copied": False, "reason": f"{manifest} is not readable from here"}
    for _ in range(20):
        # a rewrite replaces the files: copy between rewrites, and only keep a copy whose manifest did not change
        while int(client.info("persistence").get("aof_rewrite_in_progress", 0)):
            time.sleep(0.2)
        before = manifest.read_text()
        dest.mkdir()
        try:
            for name in aof_files(before):
                shutil.copy2(folder / name, dest / name)
        except FileNotFoundError:
            shutil.rmtree(dest)
            continue
        if manifest.read_text() == before:
            (dest / manifest.name).write_text(before)
            return {"copied": True, "folder": AOF_FOLDER, "manifest": manifest.name, "source": str(folder)}
        shutil.rmtree(dest)
    return {"copied": False, "reason": "the AOF kept being rewritten while it was copied"}


# ---- backup ------------------------------------------------------------------------------------------------------


def new_backup_folder(root: Path, stamp: str) -> tuple[Path, Path]:
    """The final and the in-progress folder of a new backup; refuses a stamp that exists already."""
    final, partial = root / stamp, root / f"{stamp}.partial"
    if final.exists() or partial.exists():
        raise BackupError(f"{final} exists already: a backup is never overwritten", REFUSED)
    return final, partial


def backup(target: Target, root: Path, *, copy_aof_files: bool = True, redis_server: str = "",
           stamp: str = "") -> Path:
    """Make a backup folder under `root`; return it."""
    import redis

    now = dt.datetime.now(dt.timezone.utc)
    final, partial = new_backup_folder(root, stamp or now.strftime("%Y%m%dT%H%M%SZ"))
    client = target.client()
    try:
        server = client.info("server")
        databases = databases_of(client)
    except redis.AuthenticationError:
        raise BackupError(f"Redis at {target.display()} refused the credentials in REDIS_URL", UNREACHABLE) from None
    except (redis.RedisError, OSError) as exc:
        raise BackupError(f"cannot reach Redis at {target.display()}: {exc.__class__.__name__}", UNREACHABLE) from None
    root.mkdir(parents=True, exist_ok=True)
    partial.mkdir()
    try:
        started = time.monotonic()
        rdb = partial / RDB_NAME
        fetch_rdb(target, rdb)
        aof = copy_aof(client, target, partial / AOF_FOLDER) if copy_aof_files else {
            "copied": False, "reason": "--no-aof"}
        binary = ""
        with contextlib.suppress(BackupError):
            binary = redis_server_binary(redis_server)
        if binary:
            # count the snapshot itself (loading it also proves it loads); the live keys moved on meanwhile
            with tempfile.TemporaryDirectory(prefix="rbk-load-") as load:
                (Path(load) / RDB_NAME).symlink_to(rdb.resolve())
                with private_redis(binary, Path(load), dbfilename=RDB_NAME, appendonly=False,
                                   appenddirname="appendonlydir", appendfilename="appendonly.aof",
                                   databases=databases) as loaded:
                    counts, source = count_keys(loaded), "snapshot"
        else:
            logger.warning("redis-server is not installed here: counting the live keys, not the snapshot's")
            counts, source = count_keys(target), "live"
        files = {str(p.relative_to(partial)): {"bytes": p.stat().st_size, "sha256": sha256(p)}
                 for p in sorted(partial.rglob("*")) if p.is_file()}
        manifest = {
            "format": FORMAT, "created_at": now.isoformat(timespec="seconds"), "redis": target.display(),
            "redis_version": server.get("redis_version"), "databases": databases, "counts_source": source,
            "keys_total": total_keys(counts), "keys": counts, "aof": aof, "files": files,
            "seconds": round(time.monotonic() - started, 2),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        client.close()
    return final


# ---- restore -----------------------------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """A backup's manifest, after checking every file it lists against its sha256."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup folder (no {MANIFEST})", USAGE)
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or RDB_NAME not in manifest.get("files", {}):
        raise BackupError(f"{path} is not a manifest this tool wrote", USAGE)
    for name, meta in manifest["files"].items():
        file = folder / name
        if not file.is_file() or sha256(file) != meta["sha256"]:
            raise BackupError(f"{file} is missing or does not match its sha256 in the manifest", MISMATCH)
    check_rdb(folder / RDB_NAME)
    return manifest


def redis_running_on(folder: Path) -> list[int]:
    """Pids of redis-server processes working in `folder` (Redis chdirs to its `dir`); empty where /proc is absent."""
    pids = []
    want = folder.resolve()
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if "redis-server" in (entry / "comm").read_text() and (entry / "cwd").resolve() == want:
                pids.append(int(entry.name))
    return pids


def restore(source: Path, data_dir: Path, *, dbfilename: str = RDB_NAME, appenddirname: str = "appendonlydir",
            appendfilename: str = "appendonly.aof", redis_server: str = "") -> dict[str, Any]:
    """Restore a backup into a stopped Redis's data folder, AOF included; return what was done."""
    manifest = read_manifest(source)
    binary = redis_server_binary(redis_server)
    data_dir.mkdir(parents=True, exist_ok=True)
    pids = redis_running_on(data_dir)
    if pids:
        raise BackupError(f"redis-server (pid {', '.join(map(str, pids))}) is running on {data_dir}: stop it first",
                          REFUSED)
    # The AOF trap: with appendonly yes Redis loads the AOF and ignores dump.rdb, so the old files must go.
    # They are moved aside, never deleted.
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = data_dir / f"before-restore-{stamp}"
    moved = []
    for name in (dbfilename, appenddirname, appendfilename):
        if (data_dir / name).exists():
            aside.mkdir(exist_ok=True)
            (data_dir / name).rename(aside / name)
            moved.append(name)
    tmp = data_dir / f".{dbfilename}.restoring"
    shutil.copyfile(source / RDB_NAME, tmp)
    tmp.rename(data_dir / dbfilename)
    server = functools.partial(private_redis, binary, data_dir, dbfilename=dbfilename, appenddirname=appenddirname,
                               appendfilename=appendfilename, databases=int(manifest.get("databases", 16)))
    # 1) load the snapshot with AOF off, check it, then switch AOF on: Redis writes a new AOF from what it loaded
    with server(appendonly=False) as loaded:
        _check_counts(manifest, count_keys(loaded), "the loaded snapshot")
        client = loaded.client()
        client.config_set("appendonly", "yes")
        _wait_for_aof(client)
        client.close()
    # 2) start it as production will (appendonly yes): it must load the new AOF and find the same keys
    with server(appendonly=True) as reloaded:
        counts = count_keys(reloaded)
        _check_counts(manifest, counts, "the rebuilt AOF")
        aof_on = reloaded.client().config_get("appendonly").get("appendonly") == "yes"
    if not aof_on or not (data_dir / appenddirname / f"{appendfilename}.manifest").is_file():
        raise BackupError("the restored folder has no AOF", MISMATCH)
    return {"keys_total": total_keys(counts), "moved_aside": str(aside) if moved else "", "data_dir": str(data_dir)}


def _wait_for_aof(client: Any, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if (int(info.get("aof_enabled", 0)) and not int(info.get("aof_rewrite_in_progress", 0))
                and not int(info.get("aof_rewrite_scheduled", 0))):
            if info.get("aof_last_bgrewrite_status") != "ok":
                raise BackupError("Redis could not write the new AOF", MISMATCH)
            return
        time.sleep(0.1)
    raise BackupError(f"the AOF rewrite did not finish in {timeout:.0f}s", MISMATCH)


def _check_counts(manifest: dict[str, Any], counts: dict[str, dict[str, dict[str, Any]]], what: str) -> None:
    problems = compare_counts(manifest["keys"], counts, time.time())
    if problems:
        raise BackupError(f"{what} does not match the manifest: " + "; ".join(problems), MISMATCH)


# ---- command line ------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The command line (REDIS_URL comes from the environment only: a password on a command line leaks)."""
    top = argparse.ArgumentParser(prog="redis_backup", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup", help="snapshot the Redis at $REDIS_URL into OUT/<UTC time>/")
    b.add_argument("out", type=Path, help="the folder that holds the timestamped backup folders")
    b.add_argument("--no-aof", action="store_true", help="do not copy the AOF files even when they are local")
    b.add_argument("--redis-server", default="", help="redis-server binary used to load and count the snapshot")
    r = sub.add_parser("restore", help="restore a backup folder into a STOPPED Redis's data folder")
    r.add_argument("source", type=Path, help="a folder written by `backup`")
    r.add_argument("--redis-dir", type=Path, required=True, help="the Redis `dir` to restore into (created if new)")
    r.add_argument("--dbfilename", default=RDB_NAME, help="that Redis's `dbfilename` (default dump.rdb)")
    r.add_argument("--appenddirname", default="appendonlydir", help="its `appenddirname` (default appendonlydir)")
    r.add_argument("--appendfilename", default="appendonly.aof", help="its `appendfilename` (default appendonly.aof)")
    r.add_argument("--redis-server", default="", help="the redis-server binary to rebuild and check the AOF with")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        if args.command == "backup":
            target = target_from_env()
            folder = backup(target, args.out, copy_aof_files=not args.no_aof, redis_server=args.redis_server)
            manifest = json.loads((folder / MANIFEST).read_text())
            logger.info("Backed up %s (Redis %s, %d keys, AOF %s) to %s", target.display(),
                        manifest["redis_version"], manifest["keys_total"],
                        "copied" if manifest["aof"]["copied"] else f"not copied: {manifest['aof']['reason']}", folder)
        else:
            done = restore(args.source, args.redis_dir, dbfilename=args.dbfilename, appenddirname=args.appenddirname,
                           appendfilename=args.appendfilename, redis_server=args.redis_server)
            logger.info("Restored %d keys into %s (AOF rebuilt; start Redis there with its usual appendonly yes)%s",
                        done["keys_total"], done["data_dir"],
                        f"; the previous files are in {done['moved_aside']}" if done["moved_aside"] else "")
    except BackupError as exc:
        logger.error("%s", exc)
        return exc.code
    return OK


if __name__ == "__main__":
    sys.exit(main())
