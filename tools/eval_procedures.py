"""Score the running assistant on the blind procedure questions (eval/procedures) through Rasa's REST webhook.

    make eval-procedures SPLIT=validation    # choose procedure rules here (tools/calibrate_procedures.py)
    make eval-procedures SPLIT=test          # report only

Each line ({"question", "codes", "aspect", "kind", "variant", "split"}) is asked in a fresh conversation; the first
response is scored:
- right procedure: a catalogue card for one of the labelled codes, or an answer from a guide that covers one of them
  (a hand-written guide wins where one exists);
- right part: ... opened at the part the question asks for (documents / fee_time / where / steps; general: summary);
- resolved within one tap: right, or a clarifying question whose buttons include a right procedure or guide;
- confidently wrong: a card or guide answer for anything else; for `no_procedure` lines, any card or guide answer;
- clarify rate, per variant, confusions. Every line's result goes to results/eval-procedures[-<split>].jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from common.guides import load_guides  # noqa: E402
from eval import ANSWER_KINDS, ask  # noqa: E402

# A guide's part that answers each aspect of a question.
GUIDE_PART = {"documents": "Cần chuẩn bị", "fee_time": "Phí và thời gian", "where": "Hỏi ở đâu", "steps": "Các bước",
              "general": "Tóm tắt"}
CARD_PART = {"general": "summary"}


def score_line(line: dict[str, Any], replies: list[dict[str, Any]], covered_by: dict[str, str]) -> dict[str, Any]:
    """What the first response did for one labelled question."""
    first = replies[0] if replies else {}
    custom = first.get("custom") or {}
    kind = str(custom.get("kind") or "-")
    codes = set(line.get("codes") or [])
    guides = {covered_by[c] for c in codes if c in covered_by}
    got = str(custom.get("procedure_code") or custom.get("guide_id") or kind)
    committed = kind == "procedure" or kind in ANSWER_KINDS
    correct = (kind == "procedure" and got in codes) or (kind in ANSWER_KINDS and got in guides)
    aspect = str(line.get("aspect") or "general")
    section = str(custom.get("section") or "")
    if kind == "procedure":
        part_ok = section == CARD_PART.get(aspect, aspect)
    else:
        part_ok = section == GUIDE_PART[aspect] or (aspect == "general" and section in ("", "Tóm tắt"))
    buttons = {str(c) for c in custom.get("procedure_candidates") or []} | {str(c) for c in custom.get("candidates") or []}
    result: dict[str, Any] = {
        "id": line["id"], "text": line["question"], "codes": sorted(codes), "aspect": aspect,
        "variant": line.get("variant", ""), "kind": kind, "got": got, "got_section": section,
    }
    if line.get("kind") == "no_procedure":
        result["confidently_wrong"] = committed
    else:
        result["correct"] = correct
        result["part_correct"] = correct and part_ok
        result["resolved_one_tap"] = correct or (kind == "clarify" and bool(buttons & (codes | guides)))
        result["confidently_wrong"] = committed and not correct
        result["clarify"] = kind == "clarify"
    return result


def share(results: list[dict[str, Any]], key: str) -> str:
    values = [r[key] for r in results if key in r]
    return f"{sum(values) / len(values):.3f} ({sum(values)}/{len(values)})" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="?", default=ROOT / "eval" / "procedures" / "questions.jsonl")
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--split", default="")
    args = parser.parse_args()
    lines = [json.loads(x) for x in args.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.split:
        lines = [x for x in lines if x.get("split") == args.split]
    covered_by = {code: g.id for g in load_guides(ROOT / "knowledge").values() for code in g.procedures}
    results, latencies = [], []
    with httpx.Client(timeout=60) as client:
        for line in lines:
            replies, ms = ask(client, args.url, line["question"])
            latencies.append(ms)
            results.append(score_line(line, replies, covered_by))
    name = "procedures" + (f"-{args.split}" if args.split else "")
    out = ROOT / "results" / f"eval-{name}.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")

    scored = [r for r in results if "correct" in r]
    none = [r for r in results if "correct" not in r]
    print(f"Questions: {len(results)} from {args.questions}{' (' + args.split + ')' if args.split else ''}")
    print(f"First reply names the right procedure: {share(scored, 'correct')}")
    print(f"... and opens the part asked for: {share(scored, 'part_correct')}")
    print(f"Resolved within one tap: {share(scored, 'resolved_one_tap')}   clarify rate: {share(scored, 'clarify')}")
    print(f"Confidently wrong: {share(scored, 'confidently_wrong')}   "
          f"no-procedure questions answered: {share(none, 'confidently_wrong')}")
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scored:
        by_variant[r["variant"]].append(r)
    for variant, rs in sorted(by_variant.items()):
        print(f"  {variant:14} {share(rs, 'correct')}")
    print("Most frequent confusions (labels → first reply):")
    for (codes, got), n in Counter((",".join(r["codes"]), r["got"]) for r in scored if not r["correct"]).most_common(12):
        print(f"  {n:3}  {codes} → {got}")
    report = {"n": len(results), "set": name, **{k: share(scored, k) for k in
              ("correct", "part_correct", "resolved_one_tap", "confidently_wrong", "clarify")},
              "no_procedure_answered": share(none, "confidently_wrong"),
              "median_ms": round(statistics.median(latencies), 1)}
    print(f"every line: {out.relative_to(ROOT)}")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
