"""Fuzz run: generated hostile messages through Rasa's REST channel and through every gateway; each must get a
Vietnamese reply, no HTTP 5xx, and no process may die.

    PYTHONPATH=. .venv/app/bin/python tools/fuzz.py [--messages 10000] [--seed 1]
    make fuzz                   # 10,000 messages;   tools/test.sh runs a short one (--messages 600) in CI

Messages (seeded): emoji and ZWJ sequences, zero-width and bidi characters, right-to-left scripts, lone surrogates,
control characters and terminal escapes, stacked combining marks, 100,000-character texts, HTML and JavaScript,
SQL and template probes, slash-intents with (broken) JSON, empty and blank texts, numbers, personal data, and plain
Vietnamese questions with and without diacritics. They are spread over: Rasa's REST webhook (behind the balancer),
the web widget's API, the Zalo OA webhook (signed), the Zalo Bot webhook and the Telegram webhook, the last three
answering through fake Zalo and Telegram APIs in this process. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from tools.harness import ROOT, TELEGRAM_SECRET, ZALO_BOT_SECRET, Stack

WIDGET_FORWARDED = "Đã chuyển tin nhắn tới người hỗ trợ. Câu trả lời sẽ hiện ở đây."  # bot/web/static/widget.js
VIETNAMESE = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
REPLY_TIMEOUT_S = 90.0
SHARE = {"rest": 0.4, "web": 0.2, "zalo_oa": 0.15, "zalo_bot": 0.15, "telegram": 0.1}
# What each channel can carry at most: Zalo and Telegram never deliver longer texts (REST and web get 100,000).
CHANNEL_LIMIT = {"zalo_oa": 2000, "zalo_bot": 2000, "telegram": 4096}

QUESTIONS = ["kích hoạt vneid mức 2 thế nào", "kich hoat vneid muc 2 the nao", "lam lai cccd bi mat het bao nhieu",
             "nộp hồ sơ trực tuyến ở đâu", "ko nhan dc otp", "dk khai sinh cho con", "thanh toán lệ phí bị lỗi",
             "cho tôi gặp người thật", "cảm ơn", "xin chào", "tiếp", "menu", "hài lòng", "tôi muốn góp ý"]
SLASH = ['/rate{"rating":"hai_long"}', '/rate{"rating": 5}', '/rate{"rating":"hai_long","rating_q":"x"}',
         "/handoff_closed", '/handoff_closed{"ticket": "1"}', "/restart", "/session_start", "/back", "/",
         "/{}", '/choose_topic{"topic": "../../etc/passwd"}', '/choose_topic{"topic": null}',
         '/start_walkthrough{"topic": "<script>"}', "/nav_next{", '/nav_next{"a": [1, 2', "/unknown_intent",
         "/greet@bot", "/nlu_fallback", "/out_of_scope", '/request_human{"x": "y"}', "/bad_input", "/ /",
         '/choose_topic{"topic": "' + "a" * 5000 + '"}', "/affirm", "/deny", "/nav_menu", "/nav_stuck"]
PROBES = ["' OR 1=1; DROP TABLE users; --", "{{7*7}} ${7*7} %s %n", "<script>alert(1)</script>",
          '<img src=x onerror="alert(1)">', "javascript:alert(document.cookie)", "../../../../etc/passwd",
          "; rm -rf / #", "$(whoami)", "`id`", "${jndi:ldap://x/a}", "<%= 7*7 %>", "#{7*7}", "\\x00\\x01",
          "<b>đậm</b> <i>nghiêng</i>", "&lt;script&gt;", "%00%0d%0a", "SELECT * FROM users WHERE 1=1"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇻🇳", "❤️", "🙏", "🏳️‍🌈", "🧑🏿‍⚕️", "⚠️", "🔥"]
ODD = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u202e", "\u202d", "\u2066", "\u2069", "\u061c", "\u00ad",
       "\x00", "\x07", "\x1b[31m", "\x7f", "\u2028", "\u2029", "\ufffe", "\uffff", "\r", "\t"]
RTL = ["مرحبا كيف حالك", "שלום עולם", "سلام", "ایران"]


def generate(rng: random.Random) -> tuple[str, str]:
    """One hostile (or ordinary) message and its category."""
    kind = rng.choice(["emoji", "zero_width", "rtl", "surrogate", "control", "combining", "long", "html", "probe",
                       "slash", "empty", "numbers", "pii", "question", "mixed", "random"])
    question = rng.choice(QUESTIONS)
    if kind == "emoji":
        return kind, " ".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 30))) + rng.choice(["", " " + question])
    if kind == "zero_width":
        return kind, "".join(ch + rng.choice(ODD[:4]) for ch in question)
    if kind == "rtl":
        return kind, rng.choice(RTL) + " " + rng.choice(["\u202e", ""]) + question
    if kind == "surrogate":
        high = chr(rng.randint(0xD800, 0xDBFF))
        low = chr(rng.randint(0xDC00, 0xDFFF))
        return kind, rng.choice([high + question, question + low, low + high + question, high])
    if kind == "control":
        return kind, "".join(rng.choice(ODD) + ch for ch in question)
    if kind == "combining":
        return kind, "".join(ch + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(1, 60)))
                             for ch in question)
    if kind == "long":
        unit = rng.choice(["đăng ký khai sinh ", "a", "😀", "xin chào bạn ", "ở "])
        return kind, (unit * (100_000 // len(unit) + 1))[:100_000]
    if kind == "html":
        return kind, rng.choice(PROBES[2:6] + PROBES[13:15]) + " " + question
    if kind == "probe":
        return kind, rng.choice(PROBES)
    if kind == "slash":
        return kind, rng.choice(SLASH)
    if kind == "empty":
        return kind, rng.choice(["", " ", "\n\n", "\u200b", "   \t  "])
    if kind == "numbers":
        return kind, rng.choice(["123456", "0", "-1", "1e309", "9" * 40, "3.14", "1/0", "NaN"])
    if kind == "pii":
        return kind, rng.choice(["CCCD 001203004567", "sđt 0912 345 678", "mã OTP 482913", "482913",
                                 "thẻ 4111 1111 1111 1111", "stk 0123456789 vietcombank"]) + " " + question
    if kind == "mixed":
        parts = [question, rng.choice(EMOJI), rng.choice(PROBES), rng.choice(ODD), rng.choice(RTL)]
        rng.shuffle(parts)
        return kind, " ".join(parts)
    if kind == "random":
        return kind, "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 300)))
    return kind, question


def vietnamese(texts: list[str]) -> bool:
    return any(any(ch in VIETNAMESE for ch in text.lower()) for text in texts)


class Outcome:
    """Counts per channel and category."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.replied: Counter[str] = Counter()
        self.http_5xx: Counter[str] = Counter()
        self.unanswered: list[dict[str, Any]] = []
        self.forwarded = 0

    def record(self, channel: str, kind: str, text: str, status: int, replies: list[str]) -> None:
        self.sent[channel] += 1
        if status >= 500:
            self.http_5xx[channel] += 1
        if vietnamese(replies):
            self.replied[channel] += 1
        elif len(self.unanswered) < 20:
            self.unanswered.append({"channel": channel, "kind": kind, "status": status,
                                    "text": repr(text[:80]), "replies": [r[:80] for r in replies]})


async def fuzz(messages: int, seed: int, run_dir: Path, concurrency: int) -> dict[str, Any]:
    from tests.auxil.fake_telegram import FakeTelegram
    from tests.auxil.fake_zalo_bot import FakeZaloBot, text_update, webhook_body
    from tests.auxil.fake_zalo_oa import FakeZaloOA, event

    rng = random.Random(seed)
    outcome = Outcome()
    async with FakeZaloOA() as zalo_api, FakeZaloBot() as zbot_api, FakeTelegram() as tg_api:
        stack = Stack(run_dir, rasa_replicas=1, web_replicas=1, zalo_oa_api=zalo_api.base,
                      zalo_bot_api=zbot_api.base_url, telegram_api=tg_api.base)
        started = time.monotonic()
        try:
            await stack.start()
            print(f"stack up in {time.monotonic() - started:.0f} s; {messages} messages", flush=True)
            ports = stack.ports
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

                async def post(url: str, **kwargs: Any) -> tuple[int, Any]:
                    for _ in range(3):
                        try:
                            async with session.post(url, **kwargs) as response:
                                body = await response.read()
                                try:
                                    return response.status, json.loads(body)
                                except ValueError:
                                    return response.status, None
                        except (aiohttp.ClientError, asyncio.TimeoutError):
                            await asyncio.sleep(0.5)
                    return 599, None  # no answer at all counts as a server error

                async def wait_for(check: Any) -> list[str]:
                    deadline = time.monotonic() + REPLY_TIMEOUT_S
                    while time.monotonic() < deadline:
                        found = check()
                        if found:
                            await asyncio.sleep(0.2)  # the rest of a multi-part answer
                            return check()
                        await asyncio.sleep(0.1)
                    return []

                async def one(i: int, channel: str, kind: str, text: str) -> None:
                    text = text[:CHANNEL_LIMIT.get(channel, len(text))]
                    if channel == "rest":
                        status, body = await post(f"{stack.rasa_url}/webhooks/rest/webhook",
                                                  json={"sender": f"fuzz-rest-{i % 40}", "message": text,
                                                        "message_id": uuid.uuid4().hex})
                        replies = [str(r.get("text") or "") for r in body or [] if isinstance(r, dict)]
                    elif channel == "web":
                        status, body = await post(f"{stack.web_url}/api/chat",
                                                  json={"sender": f"fuzzweb{i % 400:04d}", "message": text,
                                                        "id": uuid.uuid4().hex})
                        body = body if isinstance(body, dict) else {}
                        replies = [str(r.get("text") or "") for r in body.get("replies") or []]
                        if body.get("error"):
                            replies.append(str(body["error"]))  # the widget shows the server's own words
                        if not replies and body.get("handoff"):
                            # a volunteer has the conversation (someone asked for a person): the widget says
                            # the message went to them, the bot stays silent
                            replies.append(WIDGET_FORWARDED)
                            outcome.forwarded += 1
                    elif channel == "zalo_oa":
                        user = f"fz{i}"
                        raw, headers = event(user, text)
                        status, _ = await post(f"http://127.0.0.1:{ports['zalo_oa']}/webhooks/zalo-oa", data=raw,
                                               headers=headers)
                        replies = await wait_for(lambda: zalo_api.texts(user)) if status == 200 else []
                    elif channel == "zalo_bot":
                        chat = f"fzb{i}"
                        status, _ = await post(f"http://127.0.0.1:{ports['zalo_bot']}/webhooks/zalo-bot",
                                               json=webhook_body(text_update(chat, text)),
                                               headers={"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET})
                        replies = await wait_for(lambda: zbot_api.texts(chat)) if status == 200 else []
                    else:
                        chat = 900_000 + i
                        update = tg_api.private_text(chat, text)
                        status, _ = await post(f"http://127.0.0.1:{ports['telegram']}/webhooks/telegram",
                                               json=update, headers={"X-Telegram-Bot-Api-Secret-Token":
                                                                     TELEGRAM_SECRET})
                        replies = await wait_for(lambda: [str(p.get("text") or "") for m, p in tg_api.calls
                                                          if m == "sendMessage" and str(p.get("chat_id")) == str(chat)]
                                                 ) if status == 200 else []
                    outcome.record(channel, kind, text, status, replies)

                plan = []
                channels, weights = list(SHARE), list(SHARE.values())
                for i in range(messages):
                    kind, text = generate(rng)
                    plan.append((i, rng.choices(channels, weights)[0], kind, text))
                slots = asyncio.Semaphore(concurrency)

                async def guarded(item: tuple[int, str, str, str]) -> None:
                    async with slots:
                        await one(*item)

                await asyncio.gather(*(guarded(item) for item in plan))
            crashed = [name for name, s in stack.services.items() if not s.alive()]
            tracebacks = {log.name: log.read_text(errors="replace").count("Traceback") for log in stack.logs()}
            return {
                "messages": messages, "sent": dict(outcome.sent), "replied_in_vietnamese": dict(outcome.replied),
                "http_5xx": sum(outcome.http_5xx.values()), "http_5xx_by_channel": dict(outcome.http_5xx),
                "without_reply": sum(outcome.sent.values()) - sum(outcome.replied.values()),
                "web_forwarded_to_volunteer": outcome.forwarded,
                "crashed": crashed, "tracebacks_in_logs": {k: v for k, v in tracebacks.items() if v},
                "examples_without_reply": outcome.unanswered, "elapsed_s": round(time.monotonic() - started, 1),
            }
        finally:
            stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    run_dir = ROOT / ".run" / f"fuzz-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"seed {args.seed}; logs in {run_dir.relative_to(ROOT)}", flush=True)
    report = asyncio.run(fuzz(args.messages, args.seed, run_dir, args.concurrency))
    report["seed"] = args.seed
    ok = report["http_5xx"] == 0 and report["without_reply"] == 0 and not report["crashed"]
    print(f"  sent {sum(report['sent'].values())}: " + ", ".join(f"{k} {v}" for k, v in report["sent"].items()))
    print(f"  HTTP 5xx (goal 0): {report['http_5xx']}   without a Vietnamese reply (goal 0): "
          f"{report['without_reply']}   crashed (goal 0): {len(report['crashed'])}")
    print("all goals met" if ok else "GOALS MISSED", flush=True)
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
