"""The benchmark's plain-Rasa settings: the shorter-trained copy of config-plain.yml and the reply comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tools import bench


def epochs_of(config: dict) -> list[int]:
    parts = [*config.get("pipeline", []), *config.get("policies", [])]
    return [part["epochs"] for part in parts if "epochs" in part]


def test_plain_config_as_configured_and_with_fewer_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "RUN", tmp_path)
    config, model = bench.plain_config(None)
    assert (config, model.name) == (bench.ROOT / "config-plain.yml", "plain.tar.gz")
    original = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert epochs_of(original) == [100, 100, 100, 100]  # DIET, ResponseSelector, UnexpecTED, TED

    short, model = bench.plain_config(20)
    assert short.parent == tmp_path and model.name == "plain-e20.tar.gz"
    copied = yaml.safe_load(short.read_text(encoding="utf-8"))
    assert epochs_of(copied) == [20, 20, 20, 20]
    # everything else, the networks' shapes included, is config-plain.yml's
    for part in [*copied["pipeline"], *copied["policies"]]:
        part.pop("epochs", None)
    for part in [*original["pipeline"], *original["policies"]]:
        part.pop("epochs", None)
    assert copied == original


@pytest.mark.parametrize(("value", "expected"), [("", None), ("20", 20), (" 5 ", 5)])
def test_plain_epochs_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None) -> None:
    monkeypatch.setenv("BENCH_PLAIN_EPOCHS", value)
    assert bench.plain_epochs() == expected


@pytest.mark.parametrize("value", ["0", "101", "abc"])
def test_plain_epochs_out_of_range(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BENCH_PLAIN_EPOCHS", value)
    with pytest.raises((SystemExit, ValueError)):
        bench.plain_epochs()


def test_same_replies_counts_turns_with_the_same_texts() -> None:
    ours = [["Chào anh/chị"], ["Bước 1", "Bước 2"], ["Dạ"]]
    assert bench.same_replies(ours, [["Chào anh/chị"], ["Bước 1"], ["Dạ"]]) == "2/3"
    assert bench.same_replies(ours, ours) == "3/3"


def test_fresh_questions_are_all_new_texts_of_the_script_questions() -> None:
    texts = bench.fresh_questions(bench.CONCURRENCY * bench.TURNS_PER_CONVERSATION)
    assert len(texts) == bench.CONCURRENCY * bench.TURNS_PER_CONVERSATION == len(set(texts))
    assert not set(texts) & set(bench.MESSAGES)  # never served from the memo the script filled
    assert all(any(q in t for q in bench.QUESTIONS) for t in texts)
    assert all(len(q.split()) >= 4 for q in bench.QUESTIONS) and "xin chào" not in bench.QUESTIONS
    # each resident of the fresh run gets ten questions, no two the same text
    assert all(len(set(texts[i::bench.CONCURRENCY])) == bench.TURNS_PER_CONVERSATION for i in range(bench.CONCURRENCY))


def test_real_questions_are_the_validation_lines_only_each_once(tmp_path: Path) -> None:
    (tmp_path / "fresh").mkdir()
    lines = [{"text": "quên mật khẩu vneid", "split": "validation"}, {"text": "câu của phần test", "split": "test"},
             {"text": "quên mật khẩu vneid", "split": "validation"}, {"text": "không ghi phần"}, {"before": "x"}]
    (tmp_path / "fresh" / "questions.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
                                                        + "\n\n", encoding="utf-8")
    assert bench.real_questions(10, tmp_path) == ["quên mật khẩu vneid", "không ghi phần"]
    assert bench.real_questions(1, tmp_path) == ["quên mật khẩu vneid"]
    # the real blind sets: only what a validation line holds is sent
    texts = bench.real_questions(100_000)
    paths = [*bench.BLIND.glob("*/questions.jsonl"), bench.BLIND / "questions.jsonl"]
    lines = [json.loads(x) for p in paths for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    validation = {x["text"] for x in lines if x.get("split", "validation") == "validation"}
    assert len(texts) > 1000 and len(texts) == len(set(texts)) and set(texts) <= validation


def test_the_real_questions_option_reads_its_number() -> None:
    assert bench.real_questions_asked(["--ours-only"]) == 0
    assert bench.real_questions_asked(["--ours-only", "--real-questions", "2000"]) == 2000
    for args in (["--real-questions"], ["--real-questions", "many"], ["--real-questions", "--ours-only"]):
        with pytest.raises(SystemExit, match="needs a number"):
            bench.real_questions_asked(args)


@pytest.mark.parametrize(("value", "expected"), [(None, 30), ("10", 10), (" 60 ", 60)])
def test_script_turns_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int) -> None:
    if value is None:
        monkeypatch.delenv("BENCH_TURNS", raising=False)
    else:
        monkeypatch.setenv("BENCH_TURNS", value)
    assert bench.script_turns() == expected


@pytest.mark.parametrize("value", ["0", "501", "ten", "-5"])
def test_script_turns_out_of_range(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BENCH_TURNS", value)
    with pytest.raises(SystemExit):
        bench.script_turns()
