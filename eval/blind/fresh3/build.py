#!/usr/bin/env python3
"""Build eval/blind/fresh3/questions.jsonl from the hand-written originals in eval/blind/fresh3/src.py.

Deterministic: same source -> same file. Same row schema as eval/blind/questions.jsonl, eval/blind/fresh/ and
eval/blind/fresh2/; ids h001...; every row (variants too) is split "test": this set is SEALED (report numbers on it
only; never tune, calibrate or inspect individual failures on it). The no-diacritics and abbreviation variants are made with
the functions of eval/blind/build.py (imported, not re-implemented), with the same rules:
  - nd: strip_diacritics(text), final punctuation dropped, kept only when it differs from the original
  - ab: abbreviate(text), kept only when at least two replacements apply
Run:
    python3 eval/blind/fresh3/build.py
    python3 eval/blind/fresh3/validate.py
"""
import importlib.util
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLIND = HERE.parent

# import strip_diacritics / abbreviate from eval/blind/build.py (its main() is not run)
_spec = importlib.util.spec_from_file_location("blind_build", BLIND / "build.py")
blind_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind_build)
strip_diacritics = blind_build.strip_diacritics
abbreviate = blind_build.abbreviate

sys.path.insert(0, str(HERE))
from src import Q  # noqa: E402

OUT = HERE / "questions.jsonl"


def load():
    recs = []
    for n, rec in enumerate(Q, 1):
        guide, section, fact, kind, topic, text, source, variants, tags, also = rec
        una = "unanswerable_in_guide" in tags
        recs.append(dict(
            id=f"h{n:03d}", text=text, guide=guide, section=section, fact=fact, kind=kind, topic=topic,
            source=source, variants=variants, unanswerable_in_guide=una,
            tags=[t for t in tags if t != "unanswerable_in_guide"],
            also=[e for e in dict.fromkeys(also) if e != f"{guide}#{section}"],
        ))
    return recs


def main():
    rows = []
    for r in load():
        base = {
            "id": r["id"], "text": r["text"], "guide": r["guide"], "section": r["section"],
            "fact": r["fact"], "kind": r["kind"], "topic": r["topic"], "variant": "original",
            "source": r["source"], "split": "test",
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
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows ({sum(1 for r in rows if r['variant'] == 'original')} originals) to {OUT}")


if __name__ == "__main__":
    main()
