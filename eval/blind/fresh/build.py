#!/usr/bin/env python3
"""Build eval/blind/fresh/questions.jsonl from the hand-written originals in eval/blind/fresh/src.py.

Deterministic: same source -> same file. Same row schema as eval/blind/questions.jsonl; ids f001...;
every row (variants too) is split "validation". The no-diacritics and abbreviation variants are made with
the functions of eval/blind/build.py (imported, not re-implemented), with the same rules:
  - nd: strip_diacritics(text), final punctuation dropped, kept only when it differs from the original
  - ab: abbreviate(text), kept only when at least two replacements apply
Run:
    python3 eval/blind/fresh/build.py
    python3 eval/blind/fresh/validate.py
"""
import importlib.util
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLIND = HERE.parent

# import strip_diacritics / abbreviate from eval/blind/build.py (its main() is not run)
_spec = importlib.util.spec_from_file_location("blind_build", BLIND / "build.py")
blind_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind_build)
strip_diacritics = blind_build.strip_diacritics
abbreviate = blind_build.abbreviate


def originals(folder: Path) -> list:
    """The hand-written originals (`Q`) of one fresh set's src.py."""
    spec = importlib.util.spec_from_file_location(f"src_{folder.name}", folder / "src.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Q


def load(folder: Path = HERE, prefix: str = "f"):
    recs = []
    for n, rec in enumerate(originals(folder), 1):
        guide, section, fact, kind, topic, text, source, variants, tags, also = rec
        una = "unanswerable_in_guide" in tags
        recs.append(dict(
            id=f"{prefix}{n:03d}", text=text, guide=guide, section=section, fact=fact, kind=kind, topic=topic,
            source=source, variants=variants, unanswerable_in_guide=una,
            tags=[t for t in tags if t != "unanswerable_in_guide"],
            also=[e for e in dict.fromkeys(also) if e != f"{guide}#{section}"],
        ))
    return recs


def build(folder: Path = HERE, prefix: str = "f", split: str = "validation"):
    """Write folder/questions.jsonl (every row `split`); the later fresh sets call this with their own folder,
    id prefix and split."""
    out = folder / "questions.jsonl"
    rows = []
    for r in load(folder, prefix):
        base = {
            "id": r["id"], "text": r["text"], "guide": r["guide"], "section": r["section"],
            "fact": r["fact"], "kind": r["kind"], "topic": r["topic"], "variant": "original",
            "source": r["source"], "split": split,
            "unanswerable_in_guide": r["unanswerable_in_guide"], "tags": r["tags"], "also": r["also"],
        }
        rows.append(base)
        v = r["variants"].split("+") if r["variants"] else []
        if "nd" in v:
            nd = strip_diacritics(r["text"])
            nd = re.sub(r"\s*([?!.])\s*$", "", nd)
            if nd != r["text"]:
                rows.append(dict(base, id=r["id"] + "-nd", text=nd, variant="no-diacritics"))
        if "ab" in v:
            ab, n = abbreviate(r["text"])
            if n >= 2:
                rows.append(dict(base, id=r["id"] + "-ab", text=ab, variant="abbreviations"))
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows ({sum(1 for r in rows if r['variant'] == 'original')} originals) to {out}")


if __name__ == "__main__":
    build()
