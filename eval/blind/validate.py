#!/usr/bin/env python3
"""Validate eval/blind/questions.jsonl against knowledge/*.md.

Checks (errors make the script exit 1):
  - every line parses as a JSON object with the required fields and allowed values
  - ids are unique; variant ids are <original id>-nd / -ab and share the original's labels and split
  - no text appears twice (exact, after whitespace normalisation)
  - every guide id is a knowledge/<id>.md front-matter id, or one of no_guide / out_of_scope / sensitive
  - every non-empty section is a real "##" or "###" heading of that guide
  - specific questions have a fact (unless unanswerable_in_guide); facts compile and match the guide's own
    text (the labelled section when there is one)
  - no_guide / out_of_scope / sensitive / feedback / handoff rows have no section and no fact; no_guide, feedback
    and handoff rows have a topic; out_of_scope, sensitive, feedback and handoff rows have the kind of the same name
  - every row has a source URL
  - `also` (alternative labels, src/also.py) is a list of distinct "<guide-id>#<heading>" strings: the guide
    exists, the heading is a real "##"/"###" heading of it (or empty = guide summary), no entry repeats the
    row's own label; variants carry their original's list
Warnings (printed, not fatal): a fact that also matches the question text (too easy), a fact that matches the
guide but not the labelled section, an original that is very close to one of the guide's own example questions,
and (specific rows) a fact that does not match the text of an `also` section (the whole guide for an empty heading).
"""
import difflib
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWLEDGE = HERE.parent.parent / "knowledge"
QFILE = HERE / "questions.jsonl"

REQUIRED = ["id", "text", "guide", "section", "fact", "kind", "topic", "variant", "source", "split", "also"]
KINDS = {"specific", "general", "no_guide", "out_of_scope", "sensitive", "smalltalk", "feedback", "handoff"}
VARIANTS = {"original", "no-diacritics", "abbreviations"}
SPLITS = {"validation", "test"}
PSEUDO = {"no_guide", "out_of_scope", "sensitive", "feedback", "handoff"}
# pseudo-guides whose rows must have the kind of the same name (feedback/handoff added 2026-12-04)
PSEUDO_SAME_KIND = {"out_of_scope", "sensitive", "feedback", "handoff"}


def parse_guide(path: Path):
    text = path.read_text(encoding="utf-8")
    parts = text.split("\n---\n", 1)
    front = parts[0]
    body = parts[1] if len(parts) > 1 else ""
    m = re.search(r"^id:\s*(\S+)\s*$", front, re.M)
    gid = m.group(1) if m else None
    # example questions in the front matter
    examples = re.findall(r'^\s*-\s*"(.*)"\s*$', front.split("questions:", 1)[1].split("sources:", 1)[0], re.M) \
        if "questions:" in front else []
    sections = {}
    lines = body.splitlines()
    heads = [(i, len(mm.group(1)), mm.group(2).strip()) for i, l in enumerate(lines)
             for mm in [re.match(r"^(#{2,3})\s+(.*)$", l)] if mm]
    for n, (i, level, title) in enumerate(heads):
        end = len(lines)
        for j, lvl2, _ in heads[n + 1:]:
            if lvl2 <= level:
                end = j
                break
        sections[title] = "\n".join(lines[i + 1:end])
    return gid, text, sections, examples


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower())


def strip_d(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn").lower()


def check_also(r, guides, errors, warnings):
    rid, also = r["id"], r["also"]
    if not isinstance(also, list) or not all(isinstance(e, str) for e in also):
        errors.append(f"{rid}: also must be a list of strings")
        return
    if len(set(also)) != len(also):
        errors.append(f"{rid}: also has repeated entries")
    own = f"{r['guide']}#{r['section']}"
    for e in also:
        if "#" not in e:
            errors.append(f"{rid}: also entry {e!r} is not '<guide-id>#<heading>'")
            continue
        gid, head = e.split("#", 1)
        if e == own:
            errors.append(f"{rid}: also entry {e!r} repeats the row's own label")
        if gid not in guides:
            errors.append(f"{rid}: also entry {e!r}: unknown guide {gid}")
            continue
        G = guides[gid]
        if head and head not in G["sections"]:
            errors.append(f"{rid}: also entry {e!r}: {head!r} is not a heading of {gid}")
            continue
        if r["variant"] == "original" and r["kind"] == "specific" and r["fact"]:
            try:
                rx = re.compile(r["fact"], re.I)
            except re.error:
                continue  # reported with the row's own fact
            if not rx.search(G["sections"][head] if head else G["text"]):
                warnings.append(f"{rid}: fact /{r['fact']}/ not found in also section {e!r}")


def main():
    guides = {}
    for p in sorted(KNOWLEDGE.glob("*.md")):
        if p.name == "README.md":
            continue
        gid, text, sections, examples = parse_guide(p)
        if gid != p.stem:
            print(f"note: {p.name} front-matter id {gid!r} differs from file name")
        guides[gid] = dict(text=text, sections=sections, examples=examples)

    errors, warnings = [], []
    rows = []
    for n, line in enumerate(QFILE.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: not JSON ({e})")
            continue
        if not isinstance(row, dict):
            errors.append(f"line {n}: not an object")
            continue
        rows.append(row)

    ids = Counter(r.get("id") for r in rows)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate id {i}")
    texts = Counter(norm(r.get("text", "")) for r in rows)
    for t, c in texts.items():
        if c > 1:
            errors.append(f"duplicate text x{c}: {t[:80]}")

    by_id = {r["id"]: r for r in rows if "id" in r}
    for r in rows:
        rid = r.get("id", "?")
        for k in REQUIRED:
            if k not in r:
                errors.append(f"{rid}: missing field {k}")
        if any(k not in r for k in REQUIRED):
            continue
        if r["kind"] not in KINDS:
            errors.append(f"{rid}: bad kind {r['kind']}")
        if r["variant"] not in VARIANTS:
            errors.append(f"{rid}: bad variant {r['variant']}")
        if r["split"] not in SPLITS:
            errors.append(f"{rid}: bad split {r['split']}")
        if not r["text"].strip():
            errors.append(f"{rid}: empty text")
        if not re.match(r"^https?://", r["source"]):
            errors.append(f"{rid}: source is not a URL")
        # variant linkage
        m = re.match(r"^(b\d{3})(?:-(nd|ab))?$", rid)
        if not m:
            errors.append(f"{rid}: bad id format")
        else:
            base, suf = m.groups()
            want = {None: "original", "nd": "no-diacritics", "ab": "abbreviations"}[suf]
            if r["variant"] != want:
                errors.append(f"{rid}: variant {r['variant']} does not match id suffix")
            if suf:
                o = by_id.get(base)
                if not o:
                    errors.append(f"{rid}: original {base} missing")
                else:
                    for k in ("guide", "section", "fact", "kind", "topic", "split", "source", "also"):
                        if o.get(k) != r.get(k):
                            errors.append(f"{rid}: {k} differs from original")
                    if suf == "nd" and r["text"] != strip_d(r["text"]):
                        errors.append(f"{rid}: no-diacritics text still has diacritics/uppercase")
        check_also(r, guides, errors, warnings)
        g = r["guide"]
        if g in PSEUDO:
            if r["section"] or r["fact"]:
                errors.append(f"{rid}: {g} row must have empty section and fact")
            if g == "no_guide" and not r["topic"]:
                errors.append(f"{rid}: no_guide row needs a topic")
            if g in PSEUDO_SAME_KIND and r["kind"] != g:
                errors.append(f"{rid}: {g} guide with kind {r['kind']}")
            if g in ("feedback", "handoff") and not r["topic"]:
                errors.append(f"{rid}: {g} row needs a topic")
            continue
        if r["kind"] in ("feedback", "handoff"):
            errors.append(f"{rid}: kind {r['kind']} needs guide {r['kind']}, not {g}")
            continue
        if g not in guides:
            errors.append(f"{rid}: unknown guide {g}")
            continue
        G = guides[g]
        if r["section"] and r["section"] not in G["sections"]:
            errors.append(f"{rid}: section {r['section']!r} is not a heading of {g}")
        if r["kind"] == "specific" and not r["fact"] and not r.get("unanswerable_in_guide"):
            errors.append(f"{rid}: specific question without fact")
        if r.get("unanswerable_in_guide") and (r["fact"] or r["section"]):
            errors.append(f"{rid}: unanswerable_in_guide rows must have empty section and fact")
        if r["fact"]:
            try:
                rx = re.compile(r["fact"], re.I)
            except re.error as e:
                errors.append(f"{rid}: fact does not compile ({e})")
                continue
            if not rx.search(G["text"]):
                errors.append(f"{rid}: fact /{r['fact']}/ not found in {g}.md")
            elif r["section"] and not rx.search(G["sections"].get(r["section"], "")):
                warnings.append(f"{rid}: fact /{r['fact']}/ in {g}.md but not in section {r['section']!r}")
            if r["variant"] == "original" and rx.search(r["text"]):
                warnings.append(f"{rid}: fact /{r['fact']}/ already matches the question text")
        if r["variant"] == "original":
            best = max((difflib.SequenceMatcher(None, norm(r["text"]), norm(e)).ratio(), e)
                       for e in G["examples"]) if G["examples"] else (0, "")
            if best[0] > 0.75:
                warnings.append(f"{rid}: close to guide example ({best[0]:.2f}): {best[1]}")

    # near-duplicate originals across the set
    origs = [r for r in rows if r.get("variant") == "original"]
    for i in range(len(origs)):
        for j in range(i + 1, len(origs)):
            a, b = norm(origs[i]["text"]), norm(origs[j]["text"])
            if abs(len(a) - len(b)) < 40 and difflib.SequenceMatcher(None, a, b).ratio() > 0.85:
                warnings.append(f"near-duplicate originals {origs[i]['id']} / {origs[j]['id']}")

    for w in warnings:
        print("WARN", w)
    for e in errors:
        print("ERROR", e)

    # summary
    print()
    print(f"rows {len(rows)}, originals {len(origs)}, "
          f"variants {Counter(r['variant'] for r in rows if r['variant'] != 'original')}")
    print("kinds (originals):", dict(Counter(r["kind"] for r in origs)))
    print("splits (originals):", dict(Counter(r["split"] for r in origs)),
          "(all rows):", dict(Counter(r["split"] for r in rows)))
    print("sources:", len({r['source'] for r in rows}))
    with_also = [r for r in origs if r.get("also")]
    print(f"also: {len(with_also)} originals with alternative labels "
          f"({sum(len(r['also']) for r in with_also)} entries; {sum(1 for r in rows if r.get('also'))} rows incl. variants)")
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
