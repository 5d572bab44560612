#!/usr/bin/env python3
"""Validate eval/blind/fresh2/questions.jsonl (the third blind set, split "validation") against knowledge/*.md.

Thin wrapper: runs eval/blind/fresh/validate.py (see its docstring for the checks) with g-ids, split "validation",
near-duplicate limit 0.75 against the originals of eval/blind/src and eval/blind/fresh; per-source report, without
the best ratio inside the set (as before). Exits 1 on any error.
Run: python3 eval/blind/fresh2/validate.py [questions.jsonl]
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent

# the validator is eval/blind/fresh/validate.py's, with this folder, id prefix, split, earlier sets and limit
_spec = importlib.util.spec_from_file_location("fresh_validate", HERE.parent / "fresh" / "validate.py")
fresh_validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh_validate)

if __name__ == "__main__":
    fresh_validate.run(HERE, "g", "validation", ("fresh",), 0.75, by_source=True, best_self_line=False)
