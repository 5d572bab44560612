"""The routing and section weights chosen on the blind set's validation split (tools/calibrate.py writes them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
PROCEDURE_RULES_FILE = Path(__file__).with_name("procedure_rules.json")


@dataclass(frozen=True)
class SectionWeights:
    """How the parts of a guide are scored (actions.retrieval.sections)."""

    lexical: float = 1.0
    dense: float = 1.0
    cue: float = 0.6
    general: float = 0.0  # added to the guide's description: > 0 prefers the summary when parts are close
    uncued: float = -1.0  # cost of a shaped part (fees, documents…) reached by its questions without the shape; < 0: never
    classifier: float = 0.0  # the part model's probability for a part (sections.PartModel); 0: not used


@dataclass(frozen=True)
class FusionWeights:
    """How the classifier and retrieval are weighed to rank guides (actions.knowledge.route)."""

    nlu: float = 0.4  # intent confidence
    lexical: float = 0.8  # best BM25 passage of the guide, relative to the best guide
    dense: float = 0.4  # best dense passage of the guide, min-max over guides
    dense_unaccented: float = 0.5  # the dense vote's share on text typed without diacritics
    lexical_full: float = 40.0  # a BM25 score at which lexical evidence counts in full (weaker evidence scales
    #                             retrieval down, so a question matching nothing well is not answered)
    consensus: float = 0.0  # > 0: answer, whatever the threshold, when the classifier is at least this sure and
    #                         BM25 and the fused score name the same guide (a short clear question has little
    #                         lexical weight); 0 turns this off
    dense_consensus: float = 0.0  # > 0: the same, with the dense encoder in BM25's place, on text with diacritics (a
    #                               paraphrase shares few words with its guide: "mất bao nhiêu tiền" matches the fee
    #                               lines of every guide); 0 turns this off
    floor: float = 0.0  # > 0: a question whose best fused score stays below this matches no guide well: it gets the
    #                     honest "no guide" (or out-of-scope) reply, not buttons for guides that do not fit it


@dataclass(frozen=True)
class Calibration:
    """When to answer, when to ask which guide, and how the parts of a guide are scored."""

    answer_threshold: float = 0.45
    clarify_margin: float = 0.06
    fusion: FusionWeights = field(default_factory=FusionWeights)
    sections: SectionWeights = field(default_factory=SectionWeights)


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    """The calibrated values, or the defaults when the file is absent."""
    if not path.exists():
        return Calibration()
    data = json.loads(path.read_text(encoding="utf-8"))
    chosen = data.get("chosen", data)
    return Calibration(
        answer_threshold=float(chosen["answer_threshold"]),
        clarify_margin=float(chosen["clarify_margin"]),
        fusion=FusionWeights(**{k: float(v) for k, v in (chosen.get("fusion") or {}).items()}),
        sections=SectionWeights(**{k: float(v) for k, v in (chosen.get("sections") or {}).items()}),
    )


@dataclass(frozen=True)
class ProcedureRules:
    """When a catalogue search result is good enough to answer with (actions.procedures.choose).

    Chosen on the procedure question set's validation split by tools/calibrate_procedures.py.
    """

    min_score: float = 12.0  # BM25 score of the best procedure
    min_strength: float = 0.6  # share of the question's known terms it matches
    variant_ratio: float = 0.9  # others within this share of the best score are offered as variants
    over_clarify: float = 0.9  # strength needed to answer from the catalogue where the guides would ask which topic
    over_clarify_score: float = 30.0  # ... and the BM25 score
    guides_weak: float = 0.4  # ... and the guides' best fused score below this; otherwise the procedure is one more button
    specific_score: float = 40.0  # a procedure this strong that the chosen guide does not cover is answered instead
    specific_ratio: float = 1.3  # ... when it leads the next procedure by this factor (and holds a whole name or alias)


def load_procedure_rules(path: Path = PROCEDURE_RULES_FILE) -> ProcedureRules:
    """The calibrated procedure rules, or the defaults when the file is absent."""
    if not path.exists():
        return ProcedureRules()
    chosen = json.loads(path.read_text(encoding="utf-8")).get("chosen") or {}
    return ProcedureRules(**{k: float(v) for k, v in chosen.items()})
