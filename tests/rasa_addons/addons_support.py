"""Constants shared by the Rasa-side tests (a plain module, so test files need not import conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.auxil.redis_db import url

PROJECT_DIR = Path(__file__).resolve().parents[2]
# A database of its own (tests/auxil/redis_db.py)
REDIS_TEST_URL = url(14)


class PrivateRedis:
    """A redis-server of the test's own on a free port, with an append-only file (fsync always), that the test may
    kill -9 and start again: what a production Redis restart looks like, without touching the shared server."""

    def __init__(self, directory: Path) -> None:
        import socket

        self.directory = directory
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Any = None

    def start(self) -> PrivateRedis:
        import subprocess
        import time

        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        """kill -9: no shutdown, no final save (the append-only file already has every write)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, decode_responses=True)
