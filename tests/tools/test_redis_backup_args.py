"""tools/redis_backup.py without Redis: URLs and secrets, arguments and exit codes, manifests, the snapshot handshake
(against a fake replication server on loopback), and the expiry-aware key-count check."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.redis_backup import (
    MANIFEST,
    MISMATCH,
    REFUSED,
    UNREACHABLE,
    USAGE,
    BackupError,
    Target,
    aof_files,
    compare_counts,
    expected_range,
    fetch_rdb,
    main,
    new_backup_folder,
    parse_url,
    read_manifest,
    target_from_env,
)

SECRET = "pa:ss@w/rd%-not-real"
# a minimal RDB: magic, version, EOF opcode, 8-byte checksum (zeros: checksums off)
RDB = b"REDIS0010" + b"\xfa\x09redis-ver\x067.0.15" + b"\xff" + b"\x00" * 8


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6379/0", Target()),
    ("redis://:s3cret@redis:6380/4", Target(host="redis", port=6380, password="s3cret", db=4)),
    ("redis://backup:pa%3Ass%40w%2Frd%25-not-real@10.0.0.5/2",
     Target(host="10.0.0.5", username="backup", password=SECRET, db=2)),
    ("redis://localhost?db=3", Target(host="localhost", db=3)),
    ("rediss://:x@redis.example:6390/1?ssl_cert_reqs=none",
     Target(host="redis.example", port=6390, password="x", db=1, tls=True, verify_tls=False)),
    ("unix:///run/redis/redis.sock?db=5", Target(unix_socket="/run/redis/redis.sock", db=5)),
])
def test_urls_parse_into_targets(url: str, expected: Target) -> None:
    assert parse_url(url) == expected


def test_the_password_is_in_no_display_and_no_repr() -> None:
    target = parse_url("redis://backup:pa%3Ass%40w%2Frd%25-not-real@10.0.0.5:6379/2")
    assert target.password == SECRET
    for text in (target.display(), repr(target), str(target)):
        assert "not-real" not in text and "pa%3A" not in text
    assert target.display() == "redis://10.0.0.5:6379/2"


@pytest.mark.parametrize("url", [
    "http://:hunter-not-real@host/0", "redis://:hunter-not-real@host:notaport/0", "redis://:hunter-not-real@host/x",
    "unix://", "hunter-not-real", "redis+sentinel://:hunter-not-real@s0:26379", "redis+sentinel://:hunter-not-real@/svc",
])
def test_unusable_urls_are_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(BackupError) as refused:
        parse_url(url)
    assert refused.value.code == USAGE and "hunter" not in str(refused.value)


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                             ("redis", False), ("10.0.0.5", False)])
def test_only_a_redis_on_this_machine_counts_as_local(host: str, local: bool) -> None:
    assert Target(host=host).is_local() is local
    assert Target(unix_socket="/tmp/r.sock").is_local()


def test_redis_url_comes_only_from_the_environment() -> None:
    with pytest.raises(BackupError) as missing:
        target_from_env({})
    assert missing.value.code == USAGE and "REDIS_URL" in str(missing.value)
    assert target_from_env({"REDIS_URL": " redis://:pw@h:1/0 "}) == Target(host="h", port=1, password="pw")
    with pytest.raises(SystemExit):  # there is no option to pass a URL on the command line
        main(["backup", "out", "--url", "redis://:pw@h/0"])


def test_backup_without_redis_url_exits_2_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["backup", str(tmp_path / "b")]) == USAGE
    assert not (tmp_path / "b").exists()


def test_a_malformed_url_exits_2_without_printing_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter-not-real@127.0.0.1:99999999/0")
    assert main(["backup", str(tmp_path / "b")]) == USAGE
    out = capsys.readouterr()
    assert "hunter" not in caplog.text + out.out + out.err


def test_an_unreachable_redis_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://:hunter-not-real@127.0.0.1:{port}/0")
    assert main(["backup", str(tmp_path / "b")]) == UNREACHABLE


def test_a_backup_folder_is_never_reused(tmp_path: Path) -> None:
    final, partial = new_backup_folder(tmp_path, "20250101T000000Z")
    assert (final.name, partial.name) == ("20250101T000000Z", "20250101T000000Z.partial")
    for existing in (final, partial):
        existing.mkdir()
        with pytest.raises(BackupError) as refused:
            new_backup_folder(tmp_path, "20250101T000000Z")
        assert refused.value.code == REFUSED
        existing.rmdir()


def test_restore_arguments(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):  # --redis-dir is required: there is no default data folder to overwrite
        main(["restore", str(tmp_path)])
    assert main(["restore", str(tmp_path / "nothing"), "--redis-dir", str(tmp_path / "r")]) == USAGE
    assert not (tmp_path / "r").exists()


def make_backup(folder: Path, rdb: bytes = RDB) -> Path:
    folder.mkdir()
    (folder / "dump.rdb").write_bytes(rdb)
    files = {"dump.rdb": {"bytes": len(rdb), "sha256": hashlib.sha256(rdb).hexdigest()}}
    (folder / MANIFEST).write_text(json.dumps({"format": 1, "keys": {}, "files": files}))
    return folder


def test_a_damaged_backup_is_refused_before_the_target_is_touched(tmp_path: Path) -> None:
    folder = make_backup(tmp_path / "b")
    assert read_manifest(folder)["files"]["dump.rdb"]["bytes"] == len(RDB)
    (folder / "dump.rdb").write_bytes(RDB[:-3] + b"\x01\x02\x03")
    target = tmp_path / "data"
    target.mkdir()
    (target / "dump.rdb").write_bytes(b"keep me")
    assert main(["restore", str(folder), "--redis-dir", str(target)]) == MISMATCH
    assert [p.name for p in target.iterdir()] == ["dump.rdb"] and (target / "dump.rdb").read_bytes() == b"keep me"


def test_a_truncated_snapshot_is_not_an_rdb(tmp_path: Path) -> None:
    folder = make_backup(tmp_path / "b", RDB[:-5])
    with pytest.raises(BackupError) as refused:
        read_manifest(folder)
    assert refused.value.code == MISMATCH


def test_aof_manifests_list_their_files_and_nothing_outside_the_folder() -> None:
    text = ("file appendonly.aof.3.base.rdb seq 3 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.4.incr.aof seq 4 type i\n")
    assert aof_files(text) == ["appendonly.aof.3.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.4.incr.aof"]
    with pytest.raises(BackupError):
        aof_files("file ../../etc/passwd seq 1 type b\n")


HOUR = 3600


@pytest.mark.parametrize(("now_hour", "expected"), [
    (99.5, (10, 10)),  # before every expiry: all of them
    (100.5, (7, 10)),  # within the first expiry hour: those 3 may or may not be gone
    (101.0, (7, 7)),  # that hour is over
    (300.0, (5, 5)),  # only the persistent ones are left
])
def test_keys_with_a_ttl_are_expected_to_expire(now_hour: float, expected: tuple[int, int]) -> None:
    entry = {"keys": 10, "expiring": {"100": 3, "200": 2}}
    assert expected_range(entry, now_hour * HOUR) == expected


def test_count_comparison_names_every_difference() -> None:
    backup = {"0": {"stream": {"keys": 2, "expiring": {}}, "string": {"keys": 4, "expiring": {"100": 1}}}}
    assert compare_counts(backup, backup, 99 * HOUR) == []
    assert compare_counts(backup, {"0": {"stream": {"keys": 2}, "string": {"keys": 3}}}, 101 * HOUR) == []
    problems = compare_counts(backup, {"0": {"string": {"keys": 4}}, "3": {"hash": {"keys": 1}}}, 99 * HOUR)
    assert problems == ["db 0, stream: 0 keys, the backup has 2", "db 3, hash: 1 keys, the backup has 0"]


class FakeReplicationServer:
    """Answers the replication handshake on loopback the way Redis does: AUTH, REPLCONF, then SYNC's snapshot."""

    def __init__(self, reply: bytes, password: str = "") -> None:
        self.reply, self.password = reply, password
        self.commands: list[list[str]] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as reader:
            while True:
                header = reader.readline()
                if not header:
                    return
                args = []
                for _ in range(int(header[1:])):
                    size = int(reader.readline()[1:])
                    args.append(reader.read(size + 2)[:-2].decode())
                self.commands.append(args)
                if args[0] == "AUTH":
                    conn.sendall(b"+OK\r\n" if args[-1] == self.password else b"-WRONGPASS invalid\r\n")
                elif args[0] == "REPLCONF":
                    conn.sendall(b"+OK\r\n")
                elif args[0] == "SYNC":
                    conn.sendall(b"\n\n")  # keepalives while the snapshot is prepared
                    conn.sendall(self.reply)
                    return

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[FakeReplicationServer]:
    server = FakeReplicationServer(*request.param)
    yield server
    server.close()


MARKER = b"0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("fake_server", [
    (b"$%d\r\n%s*1\r\n$4\r\nPING\r\n" % (len(RDB), RDB), "pw"),  # disk-based, the replication stream after it
    (b"$EOF:" + MARKER + b"\r\n" + RDB + MARKER + b"*1\r\n$4\r\nPING\r\n", "pw"),  # diskless, with an end marker
], indirect=True, ids=["length-prefixed", "eof-marker"])
def test_the_snapshot_is_read_in_both_transfer_forms(fake_server: FakeReplicationServer, tmp_path: Path) -> None:
    digest = fetch_rdb(Target(port=fake_server.port, password="pw"), tmp_path / "dump.rdb", timeout=5)
    assert (tmp_path / "dump.rdb").read_bytes() == RDB
    assert digest == hashlib.sha256(RDB).hexdigest()
    assert [c[0] for c in fake_server.commands] == ["AUTH", "REPLCONF", "REPLCONF", "SYNC"]


@pytest.mark.parametrize(("fake_server", "password"), [
    ((b"$%d\r\n%s" % (len(RDB), RDB), "right"), "wrong"),
    ((b"-NOPERM this user has no permissions to run the 'sync' command\r\n", ""), ""),
    ((b"$%d\r\n%s" % (len(RDB) + 50, RDB), ""), ""),  # the connection ends before the whole snapshot
], indirect=["fake_server"], ids=["wrong-password", "refused", "cut-short"])
def test_a_failed_transfer_exits_3(fake_server: FakeReplicationServer, password: str, tmp_path: Path) -> None:
    with pytest.raises(BackupError) as failed:
        fetch_rdb(Target(port=fake_server.port, password=password), tmp_path / "dump.rdb", timeout=2)
    assert failed.value.code == UNREACHABLE and "right" not in str(failed.value)
