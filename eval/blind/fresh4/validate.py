#!/usr/bin/env python3
"""Validate eval/blind/fresh4/questions.jsonl (the fifth blind set, SEALED test split) against knowledge/*.md.

eval/blind/validate.py has its input path and the b-id format hard-wired, so this script reuses its guide parser
(`parse_guide`, `norm`, `strip_d`, `check_also`) and repeats its checks for k-ids, plus the fresh-set rules:
  errors : JSON/fields/values; ids unique, k001... and variants kNNN-nd/-ab pointing at an original and sharing
           every label (guide, section, fact, kind, topic, split, source, also); no duplicate text; split is
           "test" (this set is sealed: report only, never tune on it); guide exists (or pseudo-guide); section is a real ##/### heading of that guide; specific rows
           have a fact unless unanswerable_in_guide; fact compiles, matches the labelled section's text (the whole
           guide when section is ""), and does NOT match the question's own text (original and variants); `also`
           entries valid; pseudo-guide rows have no section/fact and a topic; source is a URL
  errors : an original with difflib ratio > 0.70 to any existing blind original (eval/blind/src/q_*.py,
           eval/blind/fresh/src.py, eval/blind/fresh2/src.py and eval/blind/fresh3/src.py), to a guide's own
           example question or to a sentence of a guide's text
  warn   : fact does not match an `also` section; near-duplicate originals inside this set (> 0.85)
Exits 1 on any error.
"""
import difflib
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLIND = HERE.parent
QFILE = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "questions.jsonl"

_spec = importlib.util.spec_from_file_location("blind_validate", BLIND / "validate.py")
bv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bv)

REQUIRED = bv.REQUIRED + ["split", "unanswerable_in_guide", "tags"]

# near-duplicate limit (difflib ratio) against older blind originals, guide examples and guide sentences
LIMIT = 0.70


def existing_texts():
    """Texts of the existing blind originals: field 4 (`text`) of every record of eval/blind/src/q_*.py
    (both layouts of those files keep the text at index 4) and field 5 of every record of
    eval/blind/fresh/src.py, eval/blind/fresh2/src.py and eval/blind/fresh3/src.py (the unified layout)."""
    out = []
    for p in sorted((BLIND / "src").glob("q_*.py")):
        ns = {}
        exec(compile(p.read_text(encoding="utf-8"), str(p), "exec"), ns)
        out.extend(("src", rec[4]) for rec in ns["Q"])
    for where in ("fresh", "fresh2", "fresh3"):
        p = BLIND / where / "src.py"
        ns = {}
        exec(compile(p.read_text(encoding="utf-8"), str(p), "exec"), ns)
        out.extend((where, rec[5]) for rec in ns["Q"])
    return out


def main():
    guides = {}
    for p in sorted(bv.KNOWLEDGE.glob("*.md")):
        if p.name == "README.md":
            continue
        gid, text, sections, examples = bv.parse_guide(p)
        guides[gid] = dict(text=text, sections=sections, examples=examples)

    errors, warnings = [], []
    rows = []
    for n, line in enumerate(QFILE.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: not JSON ({e})")

    for i, c in Counter(r.get("id") for r in rows).items():
        if c > 1:
            errors.append(f"duplicate id {i}")
    for t, c in Counter(bv.norm(r.get("text", "")) for r in rows).items():
        if c > 1:
            errors.append(f"duplicate text x{c}: {t[:80]}")

    by_id = {r["id"]: r for r in rows if "id" in r}
    for r in rows:
        rid = r.get("id", "?")
        missing = [k for k in REQUIRED if k not in r]
        if missing:
            errors.append(f"{rid}: missing {missing}")
            continue
        if r["kind"] not in bv.KINDS:
            errors.append(f"{rid}: bad kind {r['kind']}")
        if r["variant"] not in bv.VARIANTS:
            errors.append(f"{rid}: bad variant {r['variant']}")
        if r["split"] != "test":
            errors.append(f"{rid}: split must be test")
        if not r["text"].strip():
            errors.append(f"{rid}: empty text")
        if not re.match(r"^https?://", r["source"]):
            errors.append(f"{rid}: source is not a URL")
        m = re.match(r"^(k\d{3})(?:-(nd|ab))?$", rid)
        if not m:
            errors.append(f"{rid}: bad id format")
        else:
            base, suf = m.groups()
            want = {None: "original", "nd": "no-diacritics", "ab": "abbreviations"}[suf]
            if r["variant"] != want:
                errors.append(f"{rid}: variant does not match id suffix")
            if suf:
                o = by_id.get(base)
                if not o:
                    errors.append(f"{rid}: original {base} missing")
                else:
                    for k in ("guide", "section", "fact", "kind", "topic", "split", "source", "also",
                              "unanswerable_in_guide", "tags"):
                        if o.get(k) != r.get(k):
                            errors.append(f"{rid}: {k} differs from original")
                    if suf == "nd" and r["text"] != bv.strip_d(r["text"]):
                        errors.append(f"{rid}: no-diacritics text still has diacritics/uppercase")
        bv.check_also(r, guides, errors, warnings)
        g = r["guide"]
        if g in bv.PSEUDO:
            if r["section"] or r["fact"]:
                errors.append(f"{rid}: {g} row must have empty section and fact")
            if not r["topic"]:
                errors.append(f"{rid}: {g} row needs a topic")
            if g in bv.PSEUDO_SAME_KIND and r["kind"] != g:
                errors.append(f"{rid}: {g} guide with kind {r['kind']}")
            if g == "no_guide" and r["kind"] not in ("no_guide", "smalltalk"):
                errors.append(f"{rid}: no_guide row with kind {r['kind']}")
            continue
        if r["kind"] not in ("specific", "general"):
            errors.append(f"{rid}: guide row with kind {r['kind']}")
        if g not in guides:
            errors.append(f"{rid}: unknown guide {g}")
            continue
        G = guides[g]
        if r["section"] and r["section"] not in G["sections"]:
            errors.append(f"{rid}: section {r['section']!r} is not a heading of {g}")
            continue
        if r["kind"] == "specific" and not r["fact"] and not r["unanswerable_in_guide"]:
            errors.append(f"{rid}: specific question without fact")
        if r["unanswerable_in_guide"] and (r["fact"] or r["section"] or r["kind"] != "specific"):
            errors.append(f"{rid}: unanswerable_in_guide rows are specific with empty section and fact")
        if r["kind"] == "general" and r["fact"]:
            errors.append(f"{rid}: general row with a fact")
        if r["fact"]:
            try:
                rx = re.compile(r["fact"], re.I)
            except re.error as e:
                errors.append(f"{rid}: fact does not compile ({e})")
                continue
            target = G["sections"][r["section"]] if r["section"] else G["text"]
            if not rx.search(target):
                errors.append(f"{rid}: fact /{r['fact']}/ not found in {g}#{r['section']}")
            if rx.search(r["text"]):
                errors.append(f"{rid}: fact /{r['fact']}/ matches the question text itself")

    # near-duplicates: against existing blind originals and guide examples (errors), inside the set (warnings)
    origs = [r for r in rows if r.get("variant") == "original"]
    old = [(where, bv.norm(t)) for where, t in existing_texts()]
    examples = [bv.norm(e) for G in guides.values() for e in G["examples"]]
    best_old = best_ex = (0.0, "", "")
    best_by = {"src": (0.0, "", ""), "fresh": (0.0, "", ""), "fresh2": (0.0, "", ""), "fresh3": (0.0, "", "")}
    for r in origs:
        a = bv.norm(r["text"])
        for where, b in old:
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_old[0]:
                best_old = (q, r["id"], b)
            if q > best_by[where][0]:
                best_by[where] = (q, r["id"], b)
            if q > LIMIT:
                errors.append(f"{r['id']}: near-duplicate of existing blind original ({where}, {q:.2f}): {b[:80]}")
        for b in examples:
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_ex[0]:
                best_ex = (q, r["id"], b)
            if q > LIMIT:
                errors.append(f"{r['id']}: near-duplicate of a guide example ({q:.2f}): {b[:80]}")
    # against the guides' own body text (sentences / list items / headings)
    sents = []
    for G in guides.values():
        body = G["text"].split("\n---\n", 1)[-1]
        sents += [bv.norm(x) for x in re.split(r"(?<=[.?!:])\s+|\n+", body) if len(x.strip()) > 20]
    best_body = (0.0, "", "")
    for r in origs:
        a = bv.norm(r["text"])
        for b in sents:
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_body[0]:
                best_body = (q, r["id"], b)
            if q > LIMIT:
                errors.append(f"{r['id']}: near-duplicate of guide text ({q:.2f}): {b[:80]}")
    best_self = (0.0, "", "")
    for i in range(len(origs)):
        for j in range(i + 1, len(origs)):
            a, b = bv.norm(origs[i]["text"]), bv.norm(origs[j]["text"])
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_self[0]:
                best_self = (q, origs[i]["id"], origs[j]["id"])
            if q > 0.85:
                warnings.append(f"near-duplicate originals {origs[i]['id']} / {origs[j]['id']}")

    for w in warnings:
        print("WARN", w)
    for e in errors:
        print("ERROR", e)
    print()
    print(f"existing blind originals compared: {len(old)} (src {sum(1 for w, _ in old if w == 'src')}, "
          f"fresh {sum(1 for w, _ in old if w == 'fresh')}, fresh2 {sum(1 for w, _ in old if w == 'fresh2')}, "
          f"fresh3 {sum(1 for w, _ in old if w == 'fresh3')}); "
          f"guide examples compared: {len(examples)}; "
          f"guide sentences compared: {len(sents)}")
    print(f"highest ratio to an existing blind original: {best_old[0]:.2f} ({best_old[1]}); "
          f"eval/blind/src {best_by['src'][0]:.2f} ({best_by['src'][1]}), "
          f"eval/blind/fresh {best_by['fresh'][0]:.2f} ({best_by['fresh'][1]}), "
          f"eval/blind/fresh2 {best_by['fresh2'][0]:.2f} ({best_by['fresh2'][1]}), "
          f"eval/blind/fresh3 {best_by['fresh3'][0]:.2f} ({best_by['fresh3'][1]})")
    print(f"highest ratio to a guide example: {best_ex[0]:.2f} ({best_ex[1]})")
    print(f"highest ratio to a sentence of a guide's text: {best_body[0]:.2f} ({best_body[1]})")
    print(f"highest ratio between two originals of this set: {best_self[0]:.2f} ({best_self[1]} / {best_self[2]})")
    print(f"rows {len(rows)}, originals {len(origs)}, "
          f"variants {dict(Counter(r['variant'] for r in rows if r['variant'] != 'original'))}")
    print("kinds (originals):", dict(Counter(r["kind"] for r in origs)))
    print("sources:", len({r['source'] for r in origs}),
          "domains:", len({re.sub(r'^www\.', '', r['source'].split('/')[2]) for r in origs}))
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
