"""Each container image copies every first-party module its process imports (and so no process needs another's
package): the import graph of the entry package, followed file by file, against the Dockerfile's COPY lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"actions", "bot", "common", "dashboard", "procedures", "rasa_addons"}
IMAGES = {  # image → the package its process runs
    "actions.Dockerfile": "actions",
    "gateway.Dockerfile": "bot",
    "dashboard.Dockerfile": "dashboard",
    "rasa.Dockerfile": "rasa_addons",
}


def module_file(name: str) -> Path | None:
    """`common.text` → common/text.py (or a package's __init__.py); None outside our packages."""
    if name.split(".")[0] not in FIRST_PARTY:
        return None
    base = ROOT.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def imported(path: Path) -> set[Path]:
    """The first-party module files one file imports (anywhere in it, function-local imports included), with the
    packages on the way (importing common.text runs common/__init__.py)."""
    found: set[Path] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                file = module_file(".".join(parts[:i]))
                if file is not None:
                    found.add(file)
    return found


def closure(package: str) -> set[Path]:
    """Every first-party file the package's own files import, followed transitively."""
    todo = set((ROOT / package).rglob("*.py"))
    seen: set[Path] = set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        todo |= imported(file) - seen
    return seen


def copied(dockerfile: Path) -> list[str]:
    """The repository paths a Dockerfile copies into the image (sources of COPY lines, continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    sources: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w.rstrip("/") for w in words[1:-1] if not w.startswith("--")]
    return sources


@pytest.mark.parametrize(("dockerfile", "package"), sorted(IMAGES.items()))
def test_an_image_holds_every_module_its_process_imports(dockerfile: str, package: str) -> None:
    sources = copied(ROOT / "docker" / dockerfile)
    missing = sorted(str(f.relative_to(ROOT)) for f in closure(package)
                     if not any(str(f.relative_to(ROOT)) == s or str(f.relative_to(ROOT)).startswith(s + "/")
                                for s in sources))
    assert not missing, f"{dockerfile} does not copy {missing}"
    if ROOT / "common" / "messages.py" in closure(package):  # the words residents read are data, not a module
        assert "messages" in sources, f"{dockerfile} does not copy messages/ (common/messages.py reads it)"


@pytest.mark.parametrize("package", ["bot", "dashboard", "rasa_addons", "procedures", "common"])
def test_no_process_imports_the_action_server(package: str) -> None:
    reached = {f.relative_to(ROOT).parts[0] for f in closure(package)}
    assert "actions" not in reached, f"{package} reaches actions/: move what it needs into common/"


def test_the_shared_layer_imports_no_process() -> None:
    assert {f.relative_to(ROOT).parts[0] for f in closure("common")} == {"common"}
