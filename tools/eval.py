"""Score the running assistant on a question set through Rasa's REST webhook.

    make eval                                        # ../shared/eval/dev.jsonl (report only: never tune on it)
    make eval QUESTIONS=eval/blind/questions.jsonl SPLIT=validation   # tune thresholds here
    make eval QUESTIONS=eval/blind/questions.jsonl SPLIT=test         # report only

Every line ({"text", "guide", "section"?, "fact"?, "kind"?, "variant"?, "split"?, "before"?}) is asked in a fresh
conversation (right after `before`, the message a follow-up follows, when the line has one). The first response
(every reply to that message) is scored:
- guide accuracy: the first reply is an answer from the labelled guide (lines whose label is a guide);
- section accuracy: ... and from the labelled section (lines labelled with a section);
- specific-fact rate: the fact's regex appears in the first response (lines with a `fact`);
- resolved within one tap: right answer, or a clarifying question with the right guide among its buttons;
- confidently wrong: an answer from another guide (guide lines), and any answer to lines with no guide;
- out-of-scope false answers: an answer to an out-of-scope or sensitive line;
- wrongly refused: the sensitive-topic refusal given to any other line (a legitimate question, feedback, a request);
- clarify rate, per topic, per variant, a confusion table, the plain accented-BM25 baseline.
Dev-set labels `handoff`, `feedback`, `out-of-scope` are right when the reply's `custom.kind` says so.
Every line's result goes to results/eval-<set>[-<split>].jsonl; the LAST printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions.retrieval.index import passages_of  # noqa: E402
from actions.retrieval.sections import same_part  # noqa: E402
from common.guides import load_guides  # noqa: E402
from common.text import fold  # noqa: E402

KIND_LABELS = {"handoff": "handoff", "feedback": "feedback", "out-of-scope": "out_of_scope"}
# A reply that commits to one guide: an answer, or the start of its step-by-step walkthrough (readiness question or
# first step) when the resident asked to be guided.
ANSWER_KINDS = {"answer", "walkthrough", "readiness"}
NOT_A_GUIDE = {"no_guide", "out_of_scope", "sensitive", "smalltalk", *KIND_LABELS}
# Honest first replies to a line no guide covers: "no guide yet" with the official channels, out of scope, the polite
# refusal, the greeting (to chat); on a public service with no guide, a catalogue card too. Not a clarifying question
# offering guides that do not fit, nor a guide's answer.
HONEST_KINDS = {"no_guide", "out_of_scope", "sensitive", "smalltalk"}


def ask(client: httpx.Client, url: str, text: str, before: str = "") -> tuple[list[dict[str, Any]], float]:
    """Send one message in a new conversation (after `before`, when a line has one: a follow-up is scored on the
    reply to the follow-up); return every reply to it and the latency in ms."""
    sender = f"eval-{uuid.uuid4().hex[:12]}"
    if before:
        client.post(url, json={"sender": sender, "message": before}).raise_for_status()
    started = time.perf_counter()
    response = client.post(url, json={"sender": sender, "message": text})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return list(response.json()), elapsed


_COVERED_BY: dict[str, str] = {}  # catalogue code → the guide that answers for it (filled in main)


def is_correct(label: str, reply: dict[str, Any], also: list[str] | None = None) -> bool:
    """Whether a first reply answers a labelled line correctly (from its guide, or one the set accepts as well)."""
    custom = reply.get("custom") or {}
    if label in KIND_LABELS:
        return custom.get("kind") == KIND_LABELS[label]
    accepted = {label, *(entry.split("#", 1)[0] for entry in also or [])}
    if custom.get("kind") == "procedure":  # a catalogue card is right when the labelled guide covers that procedure
        return _COVERED_BY.get(str(custom.get("procedure_code") or "")) in accepted
    return custom.get("kind") in ANSWER_KINDS and custom.get("guide_id") in accepted


def right_part(got_guide: str, got_section: str, line: dict[str, Any]) -> bool:
    """The labelled guide's labelled section, or a guide#section the set lists under `also`."""
    if got_guide == line["guide"] and same_part(got_section, str(line.get("section") or "")):
        return True
    for entry in line.get("also") or []:
        guide, _, heading = entry.partition("#")
        if got_guide == guide and same_part(got_section, heading):
            return True
    return False


def fact_found(pattern: str, replies: list[dict[str, Any]]) -> bool:
    """The fact's regex in the first response, read with or without diacritics."""
    text = "\n".join(str(r.get("text") or "") for r in replies)
    regex = re.compile(pattern, re.IGNORECASE)
    return bool(regex.search(text) or regex.search(fold(text)))


class AccentedBM25:
    """Baseline: BM25 on lowercase words with diacritics kept, one document per guide section."""

    def __init__(self, knowledge: Path) -> None:
        import math

        self.passages = [p for g in load_guides(knowledge).values() for p in passages_of(g)]
        docs = [Counter(self._words(p.text)) for p in self.passages]
        self.docs, self.lengths = docs, [sum(c.values()) for c in docs]
        self.avg = sum(self.lengths) / len(self.lengths)
        df: Counter[str] = Counter()
        for c in docs:
            df.update(c.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    @staticmethod
    def _words(text: str) -> list[str]:
        text = unicodedata.normalize("NFC", text).lower()
        return "".join(ch if ch.isalnum() else " " for ch in text).split()

    def top_guide(self, query: str) -> str | None:
        scores: dict[int, float] = defaultdict(float)
        for term in set(self._words(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, doc in enumerate(self.docs):
                tf = doc.get(term)
                if tf:
                    scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg))
        if not scores:
            return None
        return self.passages[max(scores, key=scores.__getitem__)].guide_id


def score_line(line: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
    """What the first response did for one labelled line."""
    first = replies[0] if replies else {}
    custom = first.get("custom") or {}
    kind, got = str(custom.get("kind") or "-"), str(custom.get("guide_id") or "")
    label = str(line["guide"])
    is_guide = label not in NOT_A_GUIDE
    candidates = [str(c) for c in custom.get("candidates") or []]
    section = str(custom.get("section") or ("Các bước" if kind in ANSWER_KINDS - {"answer"} else ""))
    result: dict[str, Any] = {
        "id": line.get("id", ""), "text": line["text"], "label": label, "section": line.get("section", ""),
        "variant": line.get("variant", "original"), "kind": kind, "got": got or kind,
        "got_section": section, "candidates": candidates,
        "correct": is_correct(label, first, line.get("also")),
    }
    if is_guide:
        accepted = {label, *(entry.split("#", 1)[0] for entry in line.get("also") or [])}
        result["resolved_one_tap"] = result["correct"] or (kind == "clarify" and bool(accepted & set(candidates)))
        result["confidently_wrong"] = kind in ANSWER_KINDS | {"procedure"} and not result["correct"]
        if line.get("section"):
            result["section_correct"] = result["correct"] and right_part(got, section, line)
        if line.get("fact"):
            result["fact_found"] = fact_found(str(line["fact"]), replies)
    elif label in ("no_guide", "smalltalk"):
        result["confidently_wrong"] = kind in ANSWER_KINDS
        result["catalogue_answer"] = kind == "procedure"  # unlabelled: scored on eval/procedures instead
        result["honest"] = kind in HONEST_KINDS or kind == "procedure"
    elif label in ("out_of_scope", "sensitive", "out-of-scope"):
        result["false_answer"] = kind in ANSWER_KINDS
        result["honest"] = kind in HONEST_KINDS
    if label not in ("sensitive", "out_of_scope", "out-of-scope"):
        # a resident's legitimate question (or feedback, or a request for a person) met with the polite refusal
        result["wrongly_refused"] = kind == "sensitive"
    return result


def share(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if key in r]
    return round(sum(values) / len(values), 3) if values else None


def count(results: list[dict[str, Any]], key: str) -> str:
    values = [r[key] for r in results if key in r]
    return f"{sum(values)}/{len(values)}"


def main() -> None:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--split", default="", help="only lines of this split (validation or test)")
    args = parser.parse_args()
    lines = [json.loads(x) for x in args.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.split:
        lines = [x for x in lines if x.get("split") == args.split]
    baseline = AccentedBM25(args.knowledge)
    _COVERED_BY.update({code: g.id for g in load_guides(args.knowledge).values() for code in g.procedures})
    results, latencies = [], []
    with httpx.Client(timeout=60) as client:
        for line in lines:
            replies, ms = ask(client, args.url, line["text"], str(line.get("before") or ""))
            latencies.append(ms)
            result = score_line(line, replies)
            if result["label"] not in NOT_A_GUIDE:
                result["baseline_correct"] = baseline.top_guide(line["text"]) == result["label"]
            results.append(result)

    name = args.questions.stem + (f"-{args.split}" if args.split else "")
    out = ROOT / "results" / f"eval-{name}.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")

    guide_lines = [r for r in results if r["label"] not in NOT_A_GUIDE]
    kind_lines = [r for r in results if r["label"] in KIND_LABELS]
    scored = guide_lines + kind_lines
    accuracy = sum(r["correct"] for r in scored) / len(scored) if scored else 0.0
    no_guide = [r for r in results if r["label"] in ("no_guide", "smalltalk")]
    clarify = sum(r["kind"] == "clarify" for r in guide_lines)
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scored:
        by_variant[r["variant"]].append(r)
        by_topic[r["label"]].append(r)
    confusion = Counter((r["label"], r["got"]) for r in results if not r["correct"])

    print(f"Questions: {len(results)} from {args.questions}{' (' + args.split + ')' if args.split else ''}")
    print(f"First reply from the right guide: {accuracy:.3f} ({sum(r['correct'] for r in scored)}/{len(scored)})"
          f"   plain accented BM25: {share(guide_lines, 'baseline_correct')}")
    kinds = {label: [r for r in kind_lines if r["label"] == label] for label in sorted({r["label"] for r in kind_lines})}
    if kinds:  # the guide lines alone, and the lines that are feedback or a request for a person
        print(f"  of which guide lines: {share(guide_lines, 'correct')} ({count(guide_lines, 'correct')})   "
              + "   ".join(f"{label}: {count(rs, 'correct')}" for label, rs in kinds.items()))
    print(f"Right section: {share(guide_lines, 'section_correct')} ({count(guide_lines, 'section_correct')})"
          f"   specific fact in the first response: {share(guide_lines, 'fact_found')} "
          f"({count(guide_lines, 'fact_found')})")
    print(f"Resolved within one tap: {share(guide_lines, 'resolved_one_tap')}   clarify rate: "
          f"{clarify / len(guide_lines) if guide_lines else 0:.3f}")
    print(f"Confidently wrong (wrong guide): {share(guide_lines, 'confidently_wrong')} "
          f"({count(guide_lines, 'confidently_wrong')})   answered with no guide for it: "
          f"{share(no_guide, 'confidently_wrong')} ({count(no_guide, 'confidently_wrong')})")
    print(f"Out-of-scope / sensitive answered: {share(results, 'false_answer')} ({count(results, 'false_answer')})"
          f"   no-guide lines answered from the procedure catalogue: {count(no_guide, 'catalogue_answer')}")
    print(f"Lines no guide covers given an honest reply (no guide, out of scope, refusal, greeting, catalogue card): "
          f"{share(results, 'honest')} ({count(results, 'honest')})")
    print(f"Legitimate lines refused as sensitive: {share(results, 'wrongly_refused')} "
          f"({count(results, 'wrongly_refused')})")
    for variant, rs in sorted(by_variant.items()):
        print(f"  {variant:14} {sum(r['correct'] for r in rs) / len(rs):.3f}  (n={len(rs)})")
    print("By topic (right guide / section / fact / confidently wrong):")
    for topic, rs in sorted(by_topic.items()):
        right = f"{sum(r['correct'] for r in rs)}/{len(rs)}"
        print(f"  {topic:24} {right:>7}  {count(rs, 'section_correct'):>7}  {count(rs, 'fact_found'):>7}  "
              f"{count(rs, 'confidently_wrong'):>7}")
    print("Most frequent confusions (label → first reply):")
    for (label, got), n in confusion.most_common(15):
        print(f"  {n:3}  {label} → {got}")
    print(f"Median latency: {statistics.median(latencies):.0f} ms; every line: {out.relative_to(ROOT)}")
    report = {
        "n": len(results), "set": name,
        "guide_accuracy": round(accuracy, 3),
        "guide_lines_accuracy": share(guide_lines, "correct"),
        **{f"{label}_right": share(rs, "correct") for label, rs in kinds.items()},
        "section_accuracy": share(guide_lines, "section_correct"),
        "fact_rate": share(guide_lines, "fact_found"),
        "resolved_one_tap": share(guide_lines, "resolved_one_tap"),
        "confidently_wrong": share(guide_lines, "confidently_wrong"),
        "no_guide_answered": share(no_guide, "confidently_wrong"),
        "out_of_scope_false_answers": share(results, "false_answer"),
        "wrongly_refused": share(results, "wrongly_refused"),
        "honest_reply": share(results, "honest"),
        "no_guide_catalogue_answers": share(no_guide, "catalogue_answer"),
        "clarify_rate": round(clarify / len(guide_lines), 3) if guide_lines else None,
        "by_variant": {k: round(sum(r["correct"] for r in v) / len(v), 3) for k, v in sorted(by_variant.items())},
        "baseline_bm25_accuracy": share(guide_lines, "baseline_correct"),
        "median_ms": round(statistics.median(latencies), 1),
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
