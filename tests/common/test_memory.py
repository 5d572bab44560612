"""A process settles after start-up: its loaded objects leave the collector's reach and the freed heap goes back."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from common import memory

ROOT = Path(__file__).resolve().parents[2]



def test_settling_freezes_what_exists_and_says_so(unfrozen: None, caplog: pytest.LogCaptureFixture) -> None:
    kept = [{"loaded": i} for i in range(1000)]
    with caplog.at_level(logging.INFO, logger="common.memory"):
        memory.settle("Test process")
    assert gc.get_freeze_count() >= len(kept)
    assert "Test process settled" in caplog.text and "returned" in caplog.text


def test_objects_made_after_settling_are_still_collected(unfrozen: None) -> None:
    memory.settle("Test process")
    frozen = gc.get_freeze_count()
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
    assert gc.get_freeze_count() == frozen


def test_a_fragmented_heap_is_handed_back() -> None:
    """A child allocates 160 MB in 4 kB blocks and keeps every 16th: glibc holds the freed ones until trimmed."""
    child = textwrap.dedent("""
        from common.memory import return_free_heap

        def resident_kb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4

        blocks = [bytes(4000) + bytes([i % 256]) for i in range(40000)]
        kept = blocks[::16]
        del blocks
        before = resident_kb()
        print(return_free_heap(), before - resident_kb(), len(kept))
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    returned, freed_kb, kept = done.stdout.split()
    assert returned == "True" and kept == "2500"
    assert int(freed_kb) > 64 * 1024  # most of the 150 MB freed, not a rounding error


def test_without_malloc_trim_nothing_is_returned_and_nothing_fails(monkeypatch: pytest.MonkeyPatch,
                                                                   unfrozen: None) -> None:
    monkeypatch.setattr(memory, "_trim", lambda: None)
    assert memory.return_free_heap() is False
    memory.settle("Test process")
    assert gc.get_freeze_count() > 0
