#!/usr/bin/env python3
"""Build eval/blind/fresh8/questions.jsonl from the hand-written originals in eval/blind/fresh8/src.py.

Deterministic: same source -> same file. Same row schema as eval/blind/questions.jsonl, eval/blind/fresh/,
eval/blind/fresh2/, eval/blind/fresh3/, eval/blind/fresh4/, eval/blind/fresh5/, eval/blind/fresh6/ and eval/blind/fresh7/; ids r001...; every row (variants too) is split "test": this set is SEALED (report numbers on it
only; never tune, calibrate or inspect individual failures on it). The no-diacritics and abbreviation variants are made with
the functions of eval/blind/build.py (imported, not re-implemented), with the same rules:
  - nd: strip_diacritics(text), final punctuation dropped, kept only when it differs from the original
  - ab: abbreviate(text), kept only when at least two replacements apply
Run:
    python3 eval/blind/fresh8/build.py
    python3 eval/blind/fresh8/validate.py
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent

# the builder is eval/blind/fresh/build.py's, with this folder, id prefix and split
_spec = importlib.util.spec_from_file_location("fresh_build", HERE.parent / "fresh" / "build.py")
fresh_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh_build)

if __name__ == "__main__":
    fresh_build.build(HERE, "r", "test")
