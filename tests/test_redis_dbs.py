"""No two test groups share a Redis database: every `127.0.0.1:6379/<n>` in tests/ and tools/ is in its owner's files."""

from __future__ import annotations

import re
from pathlib import Path

from tests.auxil.redis_db import DATABASES

ROOT = Path(__file__).resolve().parents[1]
LITERAL = re.compile(r"redis://127\.0\.0\.1:6379/(\d+)")


def test_each_database_is_named_only_by_its_owner() -> None:
    strays = []
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("tools").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        if relative == "tests/auxil/redis_db.py":
            continue
        for match in LITERAL.finditer(path.read_text(encoding="utf-8")):
            db = int(match.group(1))
            owners = DATABASES.get(db, ("", ()))[1]
            if db != 0 and not any(relative == o or relative.startswith(o) for o in owners):
                strays.append(f"{relative}: database {db}")
    assert not strays, f"test databases used outside their group (tests/auxil/redis_db.py): {strays}"


def test_database_numbers_are_distinct() -> None:
    assert len({owners for _, owners in DATABASES.values()}) == len(DATABASES)
