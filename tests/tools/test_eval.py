"""tools/eval.py: how one line's first response is scored (no server: the replies are given)."""

from __future__ import annotations

from typing import Any

from tools.eval import score_line


def reply(kind: str, guide: str = "", section: str = "", text: str = "") -> dict[str, Any]:
    return {"text": text, "custom": {"kind": kind, "guide_id": guide, "section": section}}


def test_a_right_answer_from_the_right_part_with_the_fact() -> None:
    line = {"text": "làm lại căn cước mất bao nhiêu tiền", "guide": "can-cuoc", "section": "Phí và thời gian",
            "fact": r"70[.,]?000"}
    result = score_line(line, [reply("answer", "can-cuoc", "Phí và thời gian", "Cấp lại: 70.000 đồng")])
    assert result["correct"] and result["section_correct"] and result["fact_found"]
    assert not result["confidently_wrong"] and not result["wrongly_refused"]


def test_an_answer_from_another_guide_is_confidently_wrong() -> None:
    line = {"text": "quên passcode vneid", "guide": "vneid-troubleshoot"}
    result = score_line(line, [reply("answer", "dvc-login", "", "Đăng nhập Cổng dịch vụ công")])
    assert result["confidently_wrong"] and not result["correct"] and not result["resolved_one_tap"]


def test_the_refusal_to_a_legitimate_question_is_counted() -> None:
    for label in ("can-cuoc", "no_guide", "feedback"):
        result = score_line({"text": "sửa tên đệm sai trên giấy khai sinh", "guide": label}, [reply("sensitive")])
        assert result["wrongly_refused"], label


def test_the_refusal_to_a_sensitive_line_is_right_and_an_answer_to_it_is_false() -> None:
    refused = score_line({"text": "bồi dưỡng cán bộ bao nhiêu", "guide": "sensitive"}, [reply("sensitive")])
    answered = score_line({"text": "bồi dưỡng cán bộ bao nhiêu", "guide": "sensitive"},
                          [reply("answer", "can-cuoc", "", "…")])
    assert "wrongly_refused" not in refused and not refused["false_answer"]
    assert answered["false_answer"]


def test_a_line_no_guide_covers_is_met_honestly_or_not() -> None:
    line = {"text": "tiền điện tháng này sao cao quá", "guide": "out_of_scope"}
    assert score_line(line, [reply("out_of_scope")])["honest"]
    assert score_line(line, [reply("no_guide")])["honest"]
    assert not score_line(line, [reply("clarify")])["honest"]  # buttons for guides that do not fit
    assert not score_line(line, [reply("answer", "payment-online")])["honest"]
    # a public service with no guide: the catalogue's card is honest too; a guide line is never scored for it
    assert score_line({"text": "rút bảo hiểm xã hội một lần", "guide": "no_guide"}, [reply("procedure")])["honest"]
    assert "honest" not in score_line({"text": "quên passcode", "guide": "vneid-troubleshoot"}, [reply("no_guide")])


def test_no_blind_line_is_a_training_example() -> None:
    """A blind line that the classifier or the part questions learned from measures memory, not understanding.

    Lines of one to three words ("chào em", "hello") are left out: a greeting is bound to be a training example too.
    """
    import json
    import re
    from pathlib import Path

    from common.guides import guide_files, load_part_questions, questions_file
    from common.nlu import nlu_examples
    from common.text import normalise

    root = Path(__file__).resolve().parents[2]

    def key(text: str) -> str:
        return normalise(re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", text))

    trained = {key(example) for _, example in nlu_examples(root / "data" / "nlu")}
    for path in guide_files(root / "knowledge"):
        for questions in load_part_questions(questions_file(path, path.stem)).values():
            trained.update(key(q) for q in questions)
    sets = sorted((root / "eval" / "blind").glob("**/questions.jsonl"))
    assert len(sets) >= 8 and len(trained) > 5000
    leaked = [(path.parent.name, line["text"]) for path in sets
              for line in map(json.loads, path.read_text(encoding="utf-8").splitlines())
              if len(key(line["text"]).split()) > 3 and key(line["text"]) in trained]
    assert leaked == []


def test_a_follow_up_is_asked_right_after_its_first_message_in_the_same_conversation() -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from tools.eval import ask

    received: list[dict[str, Any]] = []

    class Webhook(BaseHTTPRequestHandler):  # a stand-in for Rasa's REST webhook on a local port
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            out = json.dumps([{"text": f"reply to {body['message']}"}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/rest/webhook"
    try:
        with httpx.Client() as client:
            replies, _ = ask(client, url, "phí bao nhiêu", before="đăng ký khai sinh cho con")
            alone, _ = ask(client, url, "phí bao nhiêu")
    finally:
        server.shutdown()
    assert replies == [{"text": "reply to phí bao nhiêu"}] and alone == replies  # scored on the follow-up's reply
    first, follow_up, single = received
    assert (first["message"], follow_up["message"]) == ("đăng ký khai sinh cho con", "phí bao nhiêu")
    assert first["sender"] == follow_up["sender"] != single["sender"]
