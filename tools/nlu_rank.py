"""Intent rankings of the trained model for every line of a question set (runs on Rasa's Python).

    .venv/rasa/bin/python tools/nlu_rank.py eval/blind/questions.jsonl eval/blind/fresh/questions.jsonl \
        --split validation --out results/nlu-validation.jsonl

The text goes through the same preparation as the REST channel (clean, NFC, masking) and the model's own NLU
pipeline, so `tools/calibrate.py` can replay the action server's decision for many settings without a running stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def rank(model: Path, texts: list[str]) -> list[dict[str, object]]:
    from rasa.core.agent import Agent

    from rasa_addons.channel import prepare_text

    agent = Agent.load(str(model))
    out = []
    for text in texts:
        prepared, _ = prepare_text(text)
        parsed = await agent.parse_message(prepared)
        out.append({"text": text, "prepared": prepared, "intent": parsed.get("intent"),
                    "intent_ranking": parsed.get("intent_ranking") or []})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="+", help="one or more question sets (JSONL)")
    parser.add_argument("--split", default="")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "assistant.tar.gz")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    lines = [json.loads(x) for path in args.questions for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.split:
        lines = [x for x in lines if x.get("split") == args.split]
    ranked = asyncio.run(rank(args.model, [x.get("text") or x["question"] for x in lines]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ranked), encoding="utf-8")
    print(f"{len(ranked)} rankings → {args.out}")


if __name__ == "__main__":
    main()
