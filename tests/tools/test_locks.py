"""Reproducible installs: each environment's lock pins every package exactly once, covers every requirement (and
agrees with its pin), and is what make setup and every image install with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = {"app": ("app.txt", "dev.txt"), "rasa": ("rasa.txt", "rasa-dev.txt")}
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]+\])?\s*(==\s*([^\s;#]+))?")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(path: Path) -> list[tuple[str, str]]:
    """(name, pinned version or '') of each requirement line."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = LINE.match(line)
        assert match, f"{path.name}: cannot read {raw!r}"
        out.append((canonical(match.group(1)), match.group(4) or ""))
    return out


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_the_lock_pins_every_package_once(env: str) -> None:
    locked = entries(ROOT / "requirements" / f"{env}.lock")
    assert locked and all(version for _, version in locked), "every line of a lock is name==version"
    names = [name for name, _ in locked]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_the_lock_covers_and_agrees_with_every_requirement(env: str) -> None:
    locked = dict(entries(ROOT / "requirements" / f"{env}.lock"))
    for file in ENVIRONMENTS[env]:
        for name, pin in entries(ROOT / "requirements" / file):
            assert name in locked, f"{file}: {name} is not in {env}.lock (run `make lock`)"
            if pin:
                assert locked[name].split("+")[0] == pin.split("+")[0], f"{file} pins {name}=={pin}, the lock {locked[name]}"


def test_setup_and_every_image_install_with_the_lock() -> None:
    stack = (ROOT / "tools" / "stack.sh").read_text(encoding="utf-8")
    assert stack.count("-c requirements/rasa.lock") >= 1 and stack.count("-c requirements/app.lock") >= 2
    for dockerfile in sorted((ROOT / "docker").glob("*.Dockerfile")):
        text = dockerfile.read_text(encoding="utf-8")
        installs = [line for line in text.splitlines() if line.startswith("RUN pip install")]
        assert installs, dockerfile.name
        for line in installs:
            assert re.search(r"-c requirements/(app|rasa)\.lock", line), f"{dockerfile.name}: {line}"
