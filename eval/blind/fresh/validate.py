#!/usr/bin/env python3
"""Validate a fresh blind set's questions.jsonl (eval/blind/fresh*/) against knowledge/*.md.

This file holds the validator of every fresh set: `validate(folder, prefix, split, earlier, limit)`; `main()` runs it
for eval/blind/fresh itself (f-ids, split "validation", compared with eval/blind/src only, limit 0.75), and
eval/blind/fresh2/, fresh3/ and fresh4/validate.py are thin wrappers that load this file and call `run()` with their
own folder, id prefix, split, earlier sets and limit.

eval/blind/validate.py has its input path and the b-id format hard-wired, so this script reuses its guide parser
(`parse_guide`, `norm`, `strip_d`, `check_also`) and repeats its checks for the set's ids, plus the fresh-set rules:
  errors : JSON/fields/values; ids unique, <prefix>001... and variants <prefix>NNN-nd/-ab pointing at an original and
           sharing every label (guide, section, fact, kind, topic, split, source, also); no duplicate text; split is
           the set's split; guide exists (or pseudo-guide); section is a real ##/### heading of that guide; specific
           rows have a fact unless unanswerable_in_guide; fact compiles, matches the labelled section's text (the
           whole guide when section is ""), and does NOT match the question's own text (original and variants);
           `also` entries valid; pseudo-guide rows have no section/fact and a topic; source is a URL
  errors : an original with difflib ratio > limit to any existing blind original (eval/blind/src/q_*.py and the
           src.py of each earlier fresh set), to a guide's own example question or to a sentence of a guide's text
  warn   : fact does not match an `also` section; near-duplicate originals inside this set (> 0.85)
Exits 1 on any error. An optional argument replaces the set's questions.jsonl.
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

_spec = importlib.util.spec_from_file_location("blind_validate", BLIND / "validate.py")
bv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bv)

REQUIRED = bv.REQUIRED + ["split", "unanswerable_in_guide", "tags"]


def existing_texts(earlier=()):
    """(where, text) of the existing blind originals: field 4 (`text`) of every record of eval/blind/src/q_*.py
    (both layouts of those files keep the text at index 4), where "src", and field 5 of every record of
    eval/blind/<name>/src.py for each earlier fresh set name (the unified layout), where that name."""
    out = []
    for p in sorted((BLIND / "src").glob("q_*.py")):
        ns = {}
        exec(compile(p.read_text(encoding="utf-8"), str(p), "exec"), ns)
        out.extend(("src", rec[4]) for rec in ns["Q"])
    for where in earlier:
        p = BLIND / where / "src.py"
        ns = {}
        exec(compile(p.read_text(encoding="utf-8"), str(p), "exec"), ns)
        out.extend((where, rec[5]) for rec in ns["Q"])
    return out


def validate(folder, prefix, split, earlier=(), limit=0.75, qfile=None, by_source=True, best_self_line=True):
    """Check one fresh set and print its report; returns the number of errors.

    folder: the set's folder (eval/blind/freshN); prefix: its id letter; split: the split every row must have;
    earlier: names of the earlier fresh folders whose src.py originals are compared as well as eval/blind/src;
    limit: near-duplicate difflib ratio (errors above it); qfile: questions file (default folder/questions.jsonl).
    Report layout: by_source names where a near-duplicate comes from (src / earlier set) in its error and in the
    summary (with per-source counts and best ratios, and the number of guide sentences compared);
    best_self_line adds the highest ratio between two originals of the set (eval/blind/fresh's report had
    neither, fresh2's had only by_source).
    """
    folder = Path(folder)
    qfile = Path(qfile) if qfile else folder / "questions.jsonl"
    guides = {}
    for p in sorted(bv.KNOWLEDGE.glob("*.md")):
        if p.name == "README.md":
            continue
        gid, text, sections, examples = bv.parse_guide(p)
        guides[gid] = dict(text=text, sections=sections, examples=examples)

    errors, warnings = [], []
    rows = []
    for n, line in enumerate(qfile.read_text(encoding="utf-8").splitlines(), 1):
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

    id_rx = re.compile(rf"^({re.escape(prefix)}\d{{3}})(?:-(nd|ab))?$")
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
        if r["split"] != split:
            errors.append(f"{rid}: split must be {split}")
        if not r["text"].strip():
            errors.append(f"{rid}: empty text")
        if not re.match(r"^https?://", r["source"]):
            errors.append(f"{rid}: source is not a URL")
        m = id_rx.match(rid)
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
    wheres = ["src", *earlier]
    old = [(where, bv.norm(t)) for where, t in existing_texts(earlier)]
    examples = [bv.norm(e) for G in guides.values() for e in G["examples"]]
    best_old = best_ex = (0.0, "", "")
    best_by = {where: (0.0, "", "") for where in wheres}
    for r in origs:
        a = bv.norm(r["text"])
        for where, b in old:
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_old[0]:
                best_old = (q, r["id"], b)
            if q > best_by[where][0]:
                best_by[where] = (q, r["id"], b)
            if q > limit:
                src = f"{where}, {q:.2f}" if by_source else f"{q:.2f}"
                errors.append(f"{r['id']}: near-duplicate of existing blind original ({src}): {b[:80]}")
        for b in examples:
            q = difflib.SequenceMatcher(None, a, b).ratio()
            if q > best_ex[0]:
                best_ex = (q, r["id"], b)
            if q > limit:
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
            if q > limit:
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
    if by_source:
        counts = ", ".join(f"{where} {sum(1 for w, _ in old if w == where)}" for where in wheres)
        print(f"existing blind originals compared: {len(old)} ({counts}); "
              f"guide examples compared: {len(examples)}; "
              f"guide sentences compared: {len(sents)}")
        bests = ", ".join(f"eval/blind/{where} {best_by[where][0]:.2f} ({best_by[where][1]})" for where in wheres)
        print(f"highest ratio to an existing blind original: {best_old[0]:.2f} ({best_old[1]}); {bests}")
    else:
        print(f"existing blind originals compared: {len(old)}; guide examples compared: {len(examples)}")
        print(f"highest ratio to an existing blind original: {best_old[0]:.2f} ({best_old[1]})")
    print(f"highest ratio to a guide example: {best_ex[0]:.2f} ({best_ex[1]})")
    print(f"highest ratio to a sentence of a guide's text: {best_body[0]:.2f} ({best_body[1]})")
    if best_self_line:
        print(f"highest ratio between two originals of this set: {best_self[0]:.2f} ({best_self[1]} / {best_self[2]})")
    print(f"rows {len(rows)}, originals {len(origs)}, "
          f"variants {dict(Counter(r['variant'] for r in rows if r['variant'] != 'original'))}")
    print("kinds (originals):", dict(Counter(r["kind"] for r in origs)))
    print("sources:", len({r['source'] for r in origs}),
          "domains:", len({re.sub(r'^www\.', '', r['source'].split('/')[2]) for r in origs}))
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    return len(errors)


def run(folder, prefix, split, earlier=(), limit=0.75, **layout):
    """Validate one set and exit 1 on any error; sys.argv[1], if given, replaces the set's questions.jsonl."""
    qfile = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    sys.exit(1 if validate(folder, prefix, split, earlier, limit, qfile=qfile, **layout) else 0)


def main():
    """eval/blind/fresh: f-ids, split "validation", compared with eval/blind/src only, limit 0.75, original report
    layout (no per-source breakdown, no best ratio inside the set)."""
    run(HERE, "f", "validation", (), 0.75, by_source=False, best_self_line=False)


if __name__ == "__main__":
    main()
