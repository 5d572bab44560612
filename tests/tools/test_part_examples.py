"""data/nlu/parts.yml is generated from knowledge/questions/: it must be current, and never repeat an example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tools import part_examples

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_training_file_is_current() -> None:
    run = subprocess.run([sys.executable, "tools/part_examples.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_a_question_already_an_example_is_left_out(tmp_path: Path) -> None:
    knowledge, nlu = tmp_path / "knowledge", tmp_path / "nlu"
    (knowledge / "questions").mkdir(parents=True)
    nlu.mkdir()
    guide = (ROOT / "knowledge" / "passport.md").read_text(encoding="utf-8")
    (knowledge / "passport.md").write_text(guide, encoding="utf-8")
    (knowledge / "questions" / "passport.yml").write_text(
        'parts:\n  "":\n    - Làm hộ chiếu ở đâu\n    - hộ chiếu   cho bé\n  "Phí và thời gian":\n'
        '    - HỘ CHIẾU CHO BÉ\n    - lệ phí hộ chiếu\n', encoding="utf-8")
    (nlu / "other.yml").write_text('version: "3.1"\nnlu:\n- intent: ask_passport\n  examples: |\n'
                                   '    - làm hộ chiếu ở đâu\n', encoding="utf-8")
    text = part_examples.render(knowledge, nlu, nlu / "parts.yml")
    blocks = yaml.safe_load(text)["nlu"]
    assert [b["intent"] for b in blocks] == ["ask_passport"]
    assert blocks[0]["examples"].splitlines() == ["- hộ chiếu cho bé", "- lệ phí hộ chiếu"]
