"""Each container image copies every first-party module its process imports (and so no process needs another's
package): the import graph of the entry package, followed file by file, against the Dockerfile's COPY lines."""

from __future__ import annotations

import ast
import re
import sys
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


def module_level_imports(path: Path) -> set[str]:
    """Top-level names of the modules a file imports when it is imported (not inside functions, not for type
    checking only)."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return names


def installed_by(dockerfile: Path) -> set[str]:
    """The distributions an image's `pip install` lines name (a whole requirements file, or the names a
    `grep -E '^(a|b)…'` picks from it), with everything they require, as installed in this environment."""
    from importlib.metadata import PackageNotFoundError, requires

    named: set[str] = set()
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if not line.startswith("RUN pip install"):
            continue
        for file in re.findall(r"-r (requirements/\S+\.txt)", line):
            named |= {re.split(r"[=<>\[ ;]", x.strip())[0] for x in (ROOT / file).read_text().splitlines()
                      if x.strip() and not x.startswith("#")}
        for group in re.findall(r"grep -E '\^\(([^)]*)\)", line):
            named |= set(group.split("|"))
    seen: set[str] = set()
    todo = [canonical(n) for n in named]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [canonical(re.split(r"[=<>!~\[ ;(]", r)[0]) for r in needs if "extra ==" not in r]
    return seen


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize(("dockerfile", "package"), sorted((d, p) for d, p in IMAGES.items() if p != "rasa_addons"))
def test_an_image_installs_every_library_its_process_imports(dockerfile: str, package: str) -> None:
    # (the Rasa image is checked by the Rasa-side tests' environment, not this one)
    from importlib.metadata import packages_distributions

    provides = packages_distributions()
    installed = installed_by(ROOT / "docker" / dockerfile)
    missing = {}
    for file in closure(package):
        for name in module_level_imports(file) - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}:
            if not any(canonical(d) in installed for d in provides.get(name, [name])):
                missing[name] = str(file.relative_to(ROOT))
    assert not missing, f"{dockerfile} does not install what these modules import: {missing}"
