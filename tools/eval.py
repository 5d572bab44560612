"""Score the running assistant on a question set through Rasa's REST webhook.

Every line of the JSONL file ({"text", "guide", "variant", ...}) is asked in a fresh conversation; the first reply
is correct when its `custom.guide_id` equals the label, or, for the labels handoff / feedback / out-of-scope, when
its `custom.kind` says so. Prints a report and, as the LAST line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions.guides import load_guides  # noqa: E402
from actions.retrieval.index import passages_of  # noqa: E402

KIND_LABELS = {"handoff": "handoff", "feedback": "feedback", "out-of-scope": "out_of_scope"}


def ask(client: httpx.Client, url: str, text: str) -> tuple[dict, float]:
    """Send one message in a new conversation; return the first reply and the latency in ms."""
    started = time.perf_counter()
    response = client.post(url, json={"sender": f"eval-{uuid.uuid4().hex[:12]}", "message": text})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    replies = response.json()
    return (replies[0] if replies else {}), elapsed


def is_correct(label: str, reply: dict) -> bool:
    """Whether a first reply answers a labelled line correctly."""
    custom = reply.get("custom") or {}
    if label in KIND_LABELS:
        return custom.get("kind") == KIND_LABELS[label]
    return custom.get("kind") == "answer" and custom.get("guide_id") == label


class AccentedBM25:
    """Baseline: BM25 on lowercase words with diacritics kept, one document per guide section."""

    def __init__(self, knowledge: Path) -> None:
        from actions.retrieval.lexical import BM25

        self.passages = [p for g in load_guides(knowledge).values() for p in passages_of(g)]
        self.bm25 = BM25.__new__(BM25)
        BM25.__init__(self.bm25, [])  # empty, then fill with accented analysis
        import math

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


def main() -> None:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    lines = [json.loads(x) for x in args.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    baseline = AccentedBM25(args.knowledge)
    by_variant: dict[str, list[bool]] = defaultdict(list)
    by_topic: dict[str, list[bool]] = defaultdict(list)
    latencies, misses = [], []
    clarify = clarify_hit = oos_total = false_answers = 0
    base_correct = []
    with httpx.Client(timeout=60) as client:
        for line in lines:
            reply, ms = ask(client, args.url, line["text"])
            latencies.append(ms)
            label, custom = line["guide"], reply.get("custom") or {}
            ok = is_correct(label, reply)
            by_variant[line.get("variant", "original")].append(ok)
            by_topic[label].append(ok)
            if custom.get("kind") == "clarify":
                clarify += 1
                clarify_hit += label in (custom.get("candidates") or [])
            if label == "out-of-scope":
                oos_total += 1
                false_answers += custom.get("kind") == "answer"
            base_correct.append(label not in KIND_LABELS and baseline.top_guide(line["text"]) == label)
            if not ok:
                got = custom.get("guide_id") or custom.get("kind") or "-"
                extra = f" {custom.get('candidates')}" if custom.get("kind") == "clarify" else ""
                misses.append(f"  [{label} → {got}{extra}] ({line.get('variant')}) {line['text'][:110]}")
    n = len(lines)
    overall = [ok for oks in by_variant.values() for ok in oks]
    accuracy = sum(overall) / n
    base_accuracy = sum(base_correct) / n
    print(f"Questions: {n}")
    print(f"Guide accuracy: {accuracy:.3f}   (plain BM25 with diacritics: {base_accuracy:.3f}, "
          f"ratio {accuracy / base_accuracy if base_accuracy else float('inf'):.2f}×)")
    for variant, oks in sorted(by_variant.items()):
        print(f"  {variant:14} {sum(oks) / len(oks):.3f}  (n={len(oks)})")
    print("By topic:")
    for topic, oks in sorted(by_topic.items()):
        print(f"  {topic:24} {sum(oks)}/{len(oks)}")
    print(f"Clarify replies: {clarify} ({clarify / n:.1%}); right guide among the buttons: {clarify_hit}/{clarify}")
    print(f"False answers to out-of-scope lines: {false_answers}/{oos_total}")
    print(f"Median latency: {statistics.median(latencies):.0f} ms")
    print("Misses:")
    print("\n".join(misses) or "  none")
    result = {
        "n": n,
        "guide_accuracy": round(accuracy, 3),
        "by_variant": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_variant.items())},
        "clarify_rate": round(clarify / n, 3),
        "clarify_hit": round(clarify_hit / clarify, 3) if clarify else None,
        "false_answer_rate": round(false_answers / oos_total, 3) if oos_total else 0.0,
        "median_ms": round(statistics.median(latencies), 1),
        "baseline_bm25_accuracy": round(base_accuracy, 3),
        "ratio_vs_baseline": round(accuracy / base_accuracy, 2) if base_accuracy else None,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
