"""The shared log setup: one JSON object per line, personal data masked in the message and the traceback."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from common.logs import JsonFormatter, formatter, setup_logging

CCCD, PHONE, OTP = "001203004567", "0912 345 678", "482913"


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.relay", logging.WARNING, __file__, 1, message, args, exc_info)


def raised(text: str) -> BaseException:
    try:
        raise ValueError(text)
    except ValueError as exc:
        return exc


def test_a_json_line_masks_a_cccd_a_phone_and_an_otp_in_the_message() -> None:
    line = JsonFormatter(replica="gw-1").format(record("Cư dân gửi %s, sđt %s, mã OTP %s", CCCD, PHONE, OTP))
    entry = json.loads(line)
    assert "\n" not in line
    assert {"time", "level", "logger", "message", "process", "replica"} <= entry.keys()
    assert (entry["level"], entry["logger"], entry["replica"]) == ("WARNING", "bot.relay", "gw-1")
    for secret in (CCCD, PHONE, OTP, "0912"):
        assert secret not in line
    assert "[CCCD]" in entry["message"] and "[SĐT]" in entry["message"] and "[MÃ]" in entry["message"]


def test_the_exception_text_is_masked_too() -> None:
    exc = raised(f"bad request for {CCCD} / {PHONE} with OTP {OTP}")
    entry = json.loads(JsonFormatter().format(record("Processing failed", exc=exc)))
    assert "Traceback" in entry["exception"] and "ValueError" in entry["exception"]
    for secret in (CCCD, PHONE, OTP):
        assert secret not in entry["exception"]
    assert "[CCCD]" in entry["exception"]


def test_the_text_format_masks_as_well() -> None:
    line = formatter("text").format(record("sđt %s", PHONE))
    assert PHONE not in line and "[SĐT]" in line


def test_a_log_call_with_wrong_arguments_still_logs() -> None:
    entry = json.loads(JsonFormatter().format(record("two %s %s", "only-one")))
    assert "two" in entry["message"]


@pytest.mark.parametrize(("log_format", "is_json"), [("json", True), ("text", False)])
def test_setup_logging_sends_every_logger_through_one_format(monkeypatch: pytest.MonkeyPatch, log_format: str,
                                                             is_json: bool) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(log_format, replica="pod-a")  # type: ignore[arg-type]
        logging.getLogger("uvicorn.error").warning("call %s", PHONE)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    (line,) = stream.getvalue().splitlines()
    assert PHONE not in line
    if is_json:
        assert json.loads(line)["replica"] == "pod-a"
    else:
        assert line.split()[2] == "WARNING"
