"""Choose when the procedure catalogue answers, on the VALIDATION splits of the blind sets and the procedure set.

    make calibrate-procedures            # = the three commands below
    .venv/rasa/bin/python tools/nlu_rank.py eval/blind/questions.jsonl eval/blind/fresh/questions.jsonl \
        eval/blind/fresh2/questions.jsonl --split validation --out results/nlu-validation.jsonl
    .venv/rasa/bin/python tools/nlu_rank.py eval/procedures/questions.jsonl --split validation \\
        --out results/nlu-procedures-validation.jsonl
    .venv/app/bin/python tools/calibrate_procedures.py [--write]

The action server's decision is replayed for every validation line: the guides' routing (`actions.knowledge`, with
the calibrated guide settings) and then `actions.procedures.plan` under each candidate `ProcedureRules`. A rule set
is scored on both sets at once — catalogue answers must not cost the guides — and the chosen one resolves the most
questions within one tap (both sets together) while the guides' confidently-wrong share stays within issue 10's
3% and the procedure set's is no worse than with the catalogue off. `--write` stores it in
actions/retrieval/procedure_rules.json. The test splits are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from calibrate import NOT_A_GUIDE, QUESTION_SETS, reaches_answer, topic_ranking  # noqa: E402

from actions.knowledge import Decision, route, signals  # noqa: E402
from actions.procedures import plan  # noqa: E402
from actions.retrieval.calibration import PROCEDURE_RULES_FILE, ProcedureRules  # noqa: E402
from actions.retrieval.index import get_index  # noqa: E402
from actions.settings import get_settings  # noqa: E402
from procedures.search import ProcedureHit, ProcedureIndex, get_procedure_index  # noqa: E402

GUIDE_WRONG_GOAL = 0.03  # issue 10's goal; the guides alone sit at it, so catalogue answers must not add wrong ones
GRID = {
    "min_score": [8.0, 12.0, 20.0],
    "min_strength": [0.5, 0.75, 0.9],
    "variant_ratio": [0.85, 0.95],
    "over_clarify": [0.75, 0.9, 1.0],
    "over_clarify_score": [20.0, 30.0, 45.0],
    "guides_weak": [0.3, 0.45, 0.6],
    "specific_score": [30.0, 45.0, 60.0, 1e9],
    "specific_ratio": [1.2, 1.5],
}


@dataclass
class Case:
    """One validation line with everything that does not depend on the procedure rules."""

    text: str
    answering: bool
    decision: Decision | None
    hits: list[ProcedureHit]
    accepted_guides: set[str]  # guides whose answer is right
    codes: set[str]  # catalogue codes whose card is right
    label: str  # guide label, "no_guide"/"out_of_scope"/"sensitive"/"smalltalk", or "procedure"/"no_procedure"


def outcome(case: Case, rules: ProcedureRules, guides: dict[str, Any], catalogue: ProcedureIndex
            ) -> tuple[str, str, set[str]]:
    """(kind, what it answers with, what a clarifying question offers) of the first reply."""
    if not case.answering or case.decision is None:
        return "other", "", set()
    d = case.decision
    fused = plan(d.kind, d.guide_id, d.confidence, bool(d.candidates), case.hits, case.text, guides, rules, catalogue)
    if fused.kind == "guide":
        return "answer", str(fused.guide_id), set()
    if fused.kind == "catalogue" and fused.choice is not None:
        if fused.choice.kind == "answer":
            return "procedure", fused.choice.records[0].code, set()
        return "clarify", "", {r.code for r in fused.choice.records}
    if d.kind == "answer":
        return "answer", str(d.guide_id), set()
    if d.kind == "clarify" and d.candidates:
        extra = {fused.choice.records[0].code} if fused.kind == "clarify_plus" and fused.choice else set()
        return "clarify", "", set(d.candidates) | extra
    return d.kind, "", set()


def score(cases: list[Case], rules: ProcedureRules, guides: dict[str, Any], catalogue: ProcedureIndex,
          covered_by: dict[str, str]) -> dict[str, Any]:
    tallies = {k: 0 for k in ("g_n", "g_right", "g_tap", "g_wrong", "off_n", "off_wrong",
                              "p_n", "p_right", "p_tap", "p_wrong", "np_n", "np_wrong")}
    for case in cases:
        kind, got, offered = outcome(case, rules, guides, catalogue)
        committed = kind in ("answer", "procedure")
        guide_of = covered_by.get(got, "") if kind == "procedure" else got
        right = committed and (guide_of in case.accepted_guides or got in case.codes)
        tap = right or (kind == "clarify" and bool(offered & (case.accepted_guides | case.codes)
                                                   or {covered_by.get(c) for c in offered} & case.accepted_guides))
        if case.label == "procedure":
            tallies["p_n"] += 1
            tallies["p_right"] += right
            tallies["p_tap"] += tap
            tallies["p_wrong"] += committed and not right
        elif case.label == "no_procedure":
            tallies["np_n"] += 1
            tallies["np_wrong"] += committed
        elif case.label in NOT_A_GUIDE:
            tallies["off_n"] += 1
            # as `make eval` counts it: a guide's answer to a no-guide line, anything to out-of-scope/sensitive
            tallies["off_wrong"] += kind == "answer" or (kind == "procedure" and case.label != "no_guide")
        else:
            tallies["g_n"] += 1
            tallies["g_right"] += right
            tallies["g_tap"] += tap
            tallies["g_wrong"] += committed and not right
    t = tallies
    return {
        "guide_right": t["g_right"] / t["g_n"], "guide_one_tap": t["g_tap"] / t["g_n"],
        "guide_wrong": (t["g_wrong"] + t["off_wrong"]) / (t["g_n"] + t["off_n"]),
        "procedure_right": t["p_right"] / t["p_n"], "procedure_one_tap": t["p_tap"] / t["p_n"],
        "procedure_wrong": (t["p_wrong"] + t["np_wrong"]) / (t["p_n"] + t["np_n"]),
        "one_tap_all": (t["g_tap"] + t["p_tap"]) / (t["g_n"] + t["p_n"]),
    }


def load_cases(questions: Path, rankings: Path, text_key: str, index: Any, catalogue: ProcedureIndex,
               covered_by: dict[str, str]) -> list[Case]:
    rows = [json.loads(x) for x in questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("split") == "validation"]
    ranked = {json.loads(x)["text"]: json.loads(x) for x in rankings.read_text(encoding="utf-8").splitlines() if x}
    settings = get_settings()
    cases = []
    for row in rows:
        item = ranked[row[text_key]]
        ranking = item["intent_ranking"]
        answering = reaches_answer(ranking)
        if ranking and ranking[0].get("name") == "start_walkthrough":
            ranking = topic_ranking({"intent_ranking": ranking})  # as the walkthrough action picks its guide
        decision = route(signals(item["prepared"], ranking, index), settings.answer_threshold,
                         settings.clarify_margin, settings.fusion) if answering else None
        codes = set(row.get("codes") or [])
        if "codes" in row:
            label = "procedure" if codes else "no_procedure"
            accepted = {covered_by[c] for c in codes if c in covered_by}
        else:
            label = str(row["guide"])
            accepted = {label, *(e.split("#", 1)[0] for e in row.get("also") or [])}
        cases.append(Case(item["prepared"], answering, decision, catalogue.search(item["prepared"], top=5),
                          accepted, codes, label))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guide-questions", type=Path, nargs="+", default=QUESTION_SETS)  # as make calibrate
    parser.add_argument("--guide-rankings", type=Path, default=ROOT / "results" / "nlu-validation.jsonl")
    parser.add_argument("--procedure-questions", type=Path, default=ROOT / "eval" / "procedures" / "questions.jsonl")
    parser.add_argument("--procedure-rankings", type=Path,
                        default=ROOT / "results" / "nlu-procedures-validation.jsonl")
    parser.add_argument("--write", action="store_true", help=f"store the choice in {PROCEDURE_RULES_FILE.name}")
    args = parser.parse_args()
    index = get_index()
    catalogue = get_procedure_index()
    covered_by = {code: g.id for g in index.guides.values() for code in g.procedures}
    cases = ([case for questions in args.guide_questions
              for case in load_cases(questions, args.guide_rankings, "text", index, catalogue, covered_by)]
             + load_cases(args.procedure_questions, args.procedure_rankings, "question", index, catalogue, covered_by))
    grid = []
    for values in itertools.product(*GRID.values()):
        rules = ProcedureRules(**dict(zip(GRID, values, strict=True)))
        grid.append(score(cases, rules, index.guides, catalogue, covered_by) | {"rules": asdict(rules)})
    off = score(cases, ProcedureRules(min_score=1e9, specific_score=1e9), index.guides, catalogue, covered_by)
    within = [g for g in grid if g["guide_wrong"] <= max(GUIDE_WRONG_GOAL, off["guide_wrong"]) + 1e-9
              and g["procedure_wrong"] <= off["procedure_wrong"] + 1e-9]
    pool = within or sorted(grid, key=lambda g: g["guide_wrong"] + g["procedure_wrong"])[:50]
    best = max(pool, key=lambda g: (round(g["one_tap_all"], 3), g["procedure_right"] + g["guide_right"]))
    print(f"Validation lines: {len(cases)} ({sum(c.label in ('procedure', 'no_procedure') for c in cases)} procedure "
          f"questions); {len(grid)} rule sets, {len(within)} within the goals")
    print("Catalogue off:   " + json.dumps({k: round(v, 3) for k, v in off.items()}))
    print("Chosen:          " + json.dumps({k: round(v, 3) for k, v in best.items() if k != "rules"}))
    print("                 " + json.dumps(best["rules"]))
    if args.write:
        PROCEDURE_RULES_FILE.write_text(json.dumps({
            "about": "Chosen by tools/calibrate_procedures.py on the validation splits of eval/blind, "
                     "eval/blind/fresh, eval/blind/fresh2 and eval/procedures; never a test split.",
            "chosen": best["rules"],
            "validation": {k: round(v, 4) for k, v in best.items() if k != "rules"},
            "catalogue_off": {k: round(v, 4) for k, v in off.items()},
        }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"written {PROCEDURE_RULES_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
