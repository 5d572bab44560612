"""What every test shares: no test leaves the machine."""

from __future__ import annotations

import gc
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails loudly (fakes and real servers all listen on 127.0.0.1)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise RuntimeError(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A test that freezes the garbage collector's objects (gc.freeze) leaves none frozen for the next."""
    gc.unfreeze()
    yield
    gc.unfreeze()
