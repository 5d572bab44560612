"""The catalogue of words residents read (messages/vi.yml): every key the code asks for is there with the same
placeholders, none is left unused, and every text is well-formed."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from common.messages import CATALOGUE, catalogue, say

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("actions", "bot", "common", "dashboard", "procedures", "rasa_addons")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def calls() -> list[tuple[str, str | None, str | None, set[str]]]:
    """(where, key or None, dynamic prefix or None, keyword names) for every say(...) in our code."""
    found = []
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                names = {k.arg for k in node.keywords if k.arg}
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((where, arg.value, None, names))
                elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                    found.append((where, None, str(arg.values[0].value), names))
                else:
                    found.append((where, None, None, names))
    return found


def test_the_code_asks_for_words_it_finds() -> None:
    texts = catalogue()
    problems = []
    for where, key, prefix, names in calls():
        if key is not None:
            if key not in texts:
                problems.append(f"{where}: no {key!r} in {CATALOGUE.name}")
            elif fields(texts[key]) != names:
                problems.append(f"{where}: {key!r} has placeholders {sorted(fields(texts[key]))}, the code fills "
                                f"{sorted(names)}")
        elif prefix is None:
            problems.append(f"{where}: say() needs a literal key or an f-string starting with its family")
        elif not any(k.startswith(prefix) for k in texts):
            problems.append(f"{where}: no key starting {prefix!r}")
    assert not problems, "\n".join(problems)


def test_no_word_in_the_catalogue_is_left_unused() -> None:
    used = calls()
    keys = {key for _, key, _, _ in used if key}
    prefixes = tuple(prefix for _, _, prefix, _ in used if prefix)
    unused = sorted(k for k in catalogue() if k not in keys and not k.startswith(prefixes))
    assert not unused, f"unused texts in {CATALOGUE.name}: {unused}"


@pytest.mark.parametrize("key", sorted(catalogue()))
def test_every_text_is_well_formed(key: str) -> None:
    template = catalogue()[key]
    assert template == template.strip() and "  " not in template.replace("\n", "")
    assert all(name.isidentifier() for name in fields(template))  # raises on a stray { or }
    assert "bạn" not in template.lower().split() and "mình" not in template.lower().split()  # anh/chị and em


def test_say_fills_placeholders_and_refuses_a_missing_key() -> None:
    assert say("walkthrough.stuck", step=2, total=5) == "Anh/chị bị kẹt ở Bước 2/5. Thử cách này nhé:"
    with pytest.raises(KeyError):
        say("no.such.key")
    with pytest.raises(KeyError):
        say("walkthrough.stuck", step=2)  # a half-filled sentence never goes out


def test_a_commune_edit_that_breaks_the_file_fails_loudly(tmp_path: Path) -> None:
    broken = tmp_path / "vi.yml"
    broken.write_text('menu: ""\nthank: "Không có gì ạ."\n', encoding="utf-8")
    with pytest.raises(ValueError, match="these keys need a text: menu"):
        catalogue(broken)


# Where replies to residents are composed; every Vietnamese word in them must come from the catalogue.
COMPOSERS = ("actions/replies.py", "actions/walkthrough.py", "actions/walkthrough_flow.py", "actions/feedback.py",
             "actions/handoff.py", "actions/safety.py", "actions/knowledge.py", "actions/procedures.py",
             "bot/render.py", "bot/relay.py", "bot/web/app.py", "bot/zalo/oa.py", "bot/telegram/gateway.py",
             "rasa_addons/channel.py", "procedures/cards.py")
# Strings that look Vietnamese but are keys or data the code matches, not words a resident reads.
NOT_WORDS = {"Tóm tắt", "Cần chuẩn bị", "Phí và thời gian", "Hỏi ở đâu", "Các bước",  # guide section headings
             "xã", "tỉnh", "bộ", "khác", "công an", "Dịch vụ bưu chính"}  # catalogue fields
VIETNAMESE = re.compile(r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]", re.I)
MATCHERS = {"compile", "match", "search", "fullmatch", "sub", "findall"}


def literal_words(path: Path) -> list[str]:
    """Vietnamese string literals outside docstrings and regular expressions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in MATCHERS:
            skip |= {id(sub) for arg in node.args[:1] for sub in ast.walk(arg)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and VIETNAMESE.search(node.value) and node.value not in NOT_WORDS]


def test_replies_take_their_words_from_the_catalogue() -> None:
    found = [line for module in COMPOSERS for line in literal_words(ROOT / module)]
    assert not found, "words written in code instead of messages/vi.yml:\n" + "\n".join(found)
