#!/usr/bin/env python3
"""Validate eval/blind/fresh8/questions.jsonl (the eighth fresh blind set, SEALED split "test") against knowledge/*.md.

Thin wrapper: runs eval/blind/fresh/validate.py (see its docstring for the checks) with r-ids, split "test",
near-duplicate limit 0.70 against the originals of eval/blind/src, eval/blind/fresh, eval/blind/fresh2,
eval/blind/fresh3, eval/blind/fresh4, eval/blind/fresh5, eval/blind/fresh6 and eval/blind/fresh7. This set is sealed: report only, never tune on it. Exits 1 on any error.
Run: python3 eval/blind/fresh8/validate.py [questions.jsonl]
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent

# the validator is eval/blind/fresh/validate.py's, with this folder, id prefix, split, earlier sets and limit
_spec = importlib.util.spec_from_file_location("fresh_validate", HERE.parent / "fresh" / "validate.py")
fresh_validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh_validate)

if __name__ == "__main__":
    fresh_validate.run(HERE, "r", "test", ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7"), 0.70)
