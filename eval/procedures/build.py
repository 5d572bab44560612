#!/usr/bin/env python3
"""Build eval/procedures/questions.jsonl from eval/procedures/src/questions.yml.

Usage (from the repo root or anywhere):

    python eval/procedures/build.py            # validate + write questions.jsonl
    python eval/procedures/build.py --check    # validate only, exit 1 on error

What it does
  * reads the hand-written source file src/questions.yml;
  * validates every record (fields, enums, unique ids, every code exists in
    knowledge/procedures/catalogue.jsonl, kind/codes consistency, the text
    really matches its `variant`);
  * assigns the split deterministically from the id:
        sha256(id) -> first 8 hex digits as int -> % 100 < 40  => "validation"
                                                     otherwise => "test"
  * writes questions.jsonl (one JSON object per line, fixed key order) and
    prints counts per split / kind / variant / aspect.

Only the catalogue is read from the project; nothing else.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import re
import sys
import unicodedata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SRC = HERE / "src" / "questions.yml"
OUT = HERE / "questions.jsonl"
CATALOGUE = REPO / "knowledge" / "procedures" / "catalogue.jsonl.gz"

ASPECTS = {"documents", "fee_time", "where", "steps", "general"}
KINDS = {"procedure", "no_procedure"}
VARIANTS = {"accented", "no_diacritics", "abbreviations"}
VALIDATION_PERCENT = 40
FIELDS = ["id", "question", "codes", "aspect", "kind", "variant", "source_url", "split"]

# chat abbreviations we expect in the "abbreviations" variant
ABBREV_RE = re.compile(
    r"(?<![\w])(ko|k|dc|đc|dk|đk|đkkh|hk|hs|hđ|vp|cccd|ubnd|bhyt|gpxd|tb|mn|bn|ntn|ad|e|r|v|\d+t)(?![\w])",
    re.IGNORECASE,
)


def has_vietnamese_marks(text: str) -> bool:
    """True if the text contains any Vietnamese diacritic (tone mark, hat, horn, breve, đ)."""
    if "đ" in text.lower():
        return True
    decomposed = unicodedata.normalize("NFD", text)
    return any(unicodedata.combining(ch) for ch in decomposed)


def split_for(qid: str) -> str:
    bucket = int(hashlib.sha256(qid.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "validation" if bucket < VALIDATION_PERCENT else "test"


def load_catalogue_codes() -> set[str]:
    codes = set()
    with gzip.open(CATALOGUE, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                codes.add(json.loads(line)["code"])
    return codes


def validate(items: list[dict], catalogue: set[str]) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    seen_q: set[str] = set()
    for i, it in enumerate(items):
        where = f"item #{i} ({it.get('id', '?')})"
        for f in ("id", "question", "codes", "aspect", "kind", "variant", "source_url"):
            if f not in it:
                errors.append(f"{where}: missing field {f!r}")
        if errors and errors[-1].startswith(where):
            continue
        qid = it["id"]
        if not re.fullmatch(r"p\d{3}", qid):
            errors.append(f"{where}: id must look like p001")
        if qid in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(qid)
        q = " ".join(it["question"].split())
        if q.lower() in seen_q:
            errors.append(f"{where}: duplicate question text")
        seen_q.add(q.lower())
        if it["aspect"] not in ASPECTS:
            errors.append(f"{where}: bad aspect {it['aspect']!r}")
        if it["kind"] not in KINDS:
            errors.append(f"{where}: bad kind {it['kind']!r}")
        if it["variant"] not in VARIANTS:
            errors.append(f"{where}: bad variant {it['variant']!r}")
        codes = it["codes"]
        if not isinstance(codes, list) or len(codes) > 3 or len(set(codes)) != len(codes):
            errors.append(f"{where}: codes must be a list of at most 3 distinct codes")
            codes = []
        for c in codes:
            if c not in catalogue:
                errors.append(f"{where}: code {c!r} not in catalogue.jsonl")
        if it["kind"] == "no_procedure" and codes:
            errors.append(f"{where}: no_procedure must have empty codes")
        if it["kind"] == "procedure" and not codes:
            errors.append(f"{where}: procedure needs at least one code")
        if not str(it["source_url"]).startswith(("http://", "https://")):
            errors.append(f"{where}: source_url must be an http(s) URL")
        marked = has_vietnamese_marks(q)
        if it["variant"] == "accented" and not marked:
            errors.append(f"{where}: variant accented but text has no diacritics")
        if it["variant"] == "no_diacritics" and marked:
            errors.append(f"{where}: variant no_diacritics but text has diacritics")
        if it["variant"] == "abbreviations" and not ABBREV_RE.search(q):
            errors.append(f"{where}: variant abbreviations but no chat abbreviation found")
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="validate only, do not write")
    args = ap.parse_args()

    data = yaml.safe_load(SRC.read_text(encoding="utf-8"))
    items = data["questions"]
    catalogue = load_catalogue_codes()
    errors = validate(items, catalogue)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1

    rows = []
    for it in items:
        row = {
            "id": it["id"],
            "question": " ".join(it["question"].split()),
            "codes": list(it["codes"]),
            "aspect": it["aspect"],
            "kind": it["kind"],
            "variant": it["variant"],
            "source_url": it["source_url"],
            "split": split_for(it["id"]),
        }
        rows.append({k: row[k] for k in FIELDS})

    if not args.check:
        with OUT.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    # summary
    def count(key):
        return dict(sorted(collections.Counter(r[key] for r in rows).items()))

    procs = {c for r in rows for c in r["codes"]}
    pairs = collections.defaultdict(list)
    for it in items:
        groups = it.get("pair") or []
        for g in [groups] if isinstance(groups, str) else groups:
            pairs[g].append(it["id"])
    print(f"questions: {len(rows)}")
    print(f"distinct catalogue codes used: {len(procs)}")
    print(f"split: {count('split')}")
    print(f"kind: {count('kind')}")
    print(f"variant: {count('variant')}")
    print(f"aspect: {count('aspect')}")
    print(f"confusable pair groups: {len(pairs)} -> {dict(sorted(pairs.items()))}")
    for s in ("validation", "test"):
        sub = [r for r in rows if r["split"] == s]
        print(f"  {s}: kind={dict(collections.Counter(r['kind'] for r in sub))} "
              f"variant={dict(collections.Counter(r['variant'] for r in sub))}")
    if not args.check:
        print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
