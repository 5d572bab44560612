"""Fault run: residents talk to the real stack while its processes are killed with SIGKILL; nothing may be lost.

    PYTHONPATH=. .venv/app/bin/python tools/chaos.py [--residents 20] [--duration 150] [--seed 1]
    make chaos                  # the full run;   tools/test.sh runs a short one (--short) in CI

The stack (tools/harness.py): a private Redis (append-only file), the action server, two Rasa replicas behind haproxy,
two web-widget gateways behind haproxy, and the Zalo OA gateway talking to a fake Zalo API in this process. Residents,
half on the web widget and half on Zalo, walk through a procedure, ask questions holding a CCCD, a phone number, an
OTP and a card number, ask for a person (volunteers are played here, through the same Redis streams and ticket calls
the Telegram desk uses), rate what they got, and try to forge ratings. Meanwhile Redis, the action server, a Rasa
replica, a web gateway and the Zalo gateway are each killed at random moments and started again.

It prints, and exits non-zero unless every goal is met:
- messages sent / answered / told "busy" and answered later / lost (goal: 0 lost);
- ratings given / stored / duplicated / lost, forged attempts stored (goal: stored == given, 0 forged stored);
- conversations whose history shrank in Redis, and messages Rasa handled twice (goal: 0);
- raw personal data found by a scanner over every Redis key and every process log (goal: 0);
- processes that exited without being killed (goal: 0).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tools.harness import ROOT, Stack, all_keys_text

ANSWER_TIMEOUT_S = 150.0
BUSY_TEXT_START = "Hệ thống đang bận"


# --- what residents send --------------------------------------------------------------------------------------


def luhn_card(rng: random.Random) -> str:
    """A 16-digit card number that passes the Luhn check, written in groups of four."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 == 0 else d
        total += doubled - 9 if doubled > 9 else doubled
    digits.append((10 - total % 10) % 10)
    number = "".join(map(str, digits))
    return " ".join(number[i:i + 4] for i in range(0, 16, 4))


@dataclass
class Secrets:
    """One resident's personal data: none of it may be found raw anywhere afterwards."""

    cccd: str
    phone: str
    otp: str
    card: str

    @classmethod
    def make(cls, rng: random.Random) -> Secrets:
        return cls(cccd="0" + "".join(str(rng.randrange(10)) for _ in range(11)),
                   phone="09" + "".join(str(rng.randrange(10)) for _ in range(8)),
                   otp="".join(str(rng.randrange(1, 10)) for _ in range(6)),
                   card=luhn_card(rng))

    def values(self) -> list[str]:
        return [self.cccd, self.phone, self.otp, self.card]


def raw_pattern(value: str) -> re.Pattern[str]:
    """The value's digits, with or without spaces, dots or dashes between them, not inside a longer number (nor the
    fraction of a timestamp such as 1796238895.825338, which a six-digit OTP can match by chance)."""
    digits = re.sub(r"\D", "", value)
    return re.compile(r"(?<!\d)(?<!\d[.,])" + r"[ .\-]?".join(digits) + r"(?!\d)")


# --- residents ------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One message a resident sent and what became of it."""

    id: str
    text: str
    at: float
    busy: bool = False
    answered: bool = False
    replies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Counts:
    given: int = 0  # rating taps on a question just asked
    forged: int = 0  # typed /rate{…} and old buttons tapped again
    duplicates: int = 0  # the same reply delivered twice


class Resident:
    """Sends one message at a time and waits for its answer, like a person; follows the buttons it gets."""

    def __init__(self, name: str, rng: random.Random, secrets: Secrets) -> None:
        self.name = name
        self.rng = rng
        self.secrets = secrets
        self.sent: list[Sent] = []
        self.counts = Counts()
        self.last: list[dict[str, Any]] = []  # replies to the latest message: text, choices
        self.conv = ""

    # channel-specific: send, and collect replies until answered
    async def _send(self, sent: Sent) -> None:
        raise NotImplementedError

    async def say(self, text: str) -> Sent:
        sent = Sent(uuid.uuid4().hex, text, time.monotonic())
        self.sent.append(sent)
        self.last = []
        await self._send(sent)
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))  # reading time
        return sent

    def choices(self) -> list[tuple[str, str]]:
        return [c for r in self.last for c in r.get("choices", [])]

    def find(self, title_start: str) -> str | None:
        return next((payload for title, payload in self.choices() if title.startswith(title_start)), None)

    def rating_choice(self) -> str | None:
        payloads = [p for _, p in self.choices() if p.startswith("/rate")]
        return self.rng.choice(payloads[:2]) if payloads else None

    async def rate_if_asked(self) -> None:
        payload = self.rating_choice()
        if payload is None:
            return
        self.counts.given += 1
        await self.say(payload)
        await self.say("hướng dẫn dễ hiểu, cảm ơn")
        # forging: the same button again, and a typed rating with no question asked
        self.counts.forged += 2
        await self.say(payload)
        await self.say('/rate{"rating": "hai_long"}')

    async def walkthrough(self) -> None:
        await self.say(self.rng.choice(["hướng dẫn từng bước nộp hồ sơ trực tuyến",
                                        "chỉ tôi từng bước kích hoạt vneid mức 2"]))
        for _ in range(15):
            tap = self.find("Có rồi") or self.find("Tiếp")
            if tap is None:
                break
            await self.say(tap)
        await self.rate_if_asked()

    async def questions(self) -> None:
        s = self.secrets
        await self.say(f"làm lại căn cước bị mất thì cần giấy tờ gì, số CCCD của tôi là {s.cccd}")
        await self.say(f"sđt của tôi {s.phone}, mã OTP là {s.otp} thì làm gì tiếp")
        await self.say(f"thanh toán lệ phí bằng thẻ {s.card} bị lỗi")

    async def handoff(self, desk: Desk) -> None:
        await self.say("cho tôi gặp người thật")
        await self.say(f"bác không đăng nhập được, số bác là {self.secrets.phone}")
        # the volunteer answers, then closes the ticket: the assistant is back and asks for a rating
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while self.rating_choice() is None and time.monotonic() < deadline:
            await self.collect()
            await asyncio.sleep(0.5)
        await self.rate_if_asked()

    async def collect(self) -> None:
        """Fetch what arrived without a request (late answers, volunteers)."""

    async def run(self, until: float, desk: Desk) -> None:
        await self.say("xin chào")
        first = True
        while first or time.monotonic() < until:
            first = False
            parts = [self.walkthrough, self.questions, lambda: self.handoff(desk)]
            self.rng.shuffle(parts)
            for part in parts:
                await part()

    def take(self, reply: dict[str, Any], target: Sent | None) -> None:
        if target is None:
            return
        if reply.get("busy"):
            target.busy = True
            return
        target.answered = True
        target.replies.append(reply)
        if target is self.sent[-1]:
            self.last.append(reply)


class WebResident(Resident):
    """Talks to the web widget's API through the load balancer, retrying with the same message id as the widget."""

    def __init__(self, name: str, rng: random.Random, secrets: Secrets, base: str,
                 session: aiohttp.ClientSession) -> None:
        super().__init__(name, rng, secrets)
        self.base = base
        self.session = session
        self.sender = uuid.uuid4().hex[:24]
        self.conv = f"web:{self.sender}"
        self.seen: set[tuple[str, str, str]] = set()

    async def _send(self, sent: Sent) -> None:
        body = {"sender": self.sender, "message": sent.text, "id": sent.id}
        deadline = sent.at + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                async with self.session.post(f"{self.base}/api/chat", json=body) as response:
                    if response.status == 200:
                        self._replies((await response.json())["replies"])
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(1.0)
        while not sent.answered and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            await self.collect()

    async def collect(self) -> None:
        try:
            async with self.session.get(f"{self.base}/api/inbox", params={"sender": self.sender}) as response:
                if response.status == 200:
                    self._replies((await response.json())["replies"])
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass

    def _replies(self, replies: list[dict[str, Any]]) -> None:
        by_id = {s.id: s for s in self.sent}
        for r in replies:
            reply_to = str(r.get("reply_to") or "")
            key = (reply_to, str(r.get("kind")), str(r.get("text")))
            if reply_to and key in self.seen:
                self.counts.duplicates += 1
                continue
            self.seen.add(key)
            reply = {"text": r.get("text", ""), "busy": bool((r.get("custom") or {}).get("held")),
                     "choices": [(b["title"], b["payload"]) for b in r.get("buttons") or []]}
            # replies name the message they answer; a volunteer's words and what follows a closed ticket answer
            # the latest one
            self.take(reply, by_id.get(reply_to) or (self.sent[-1] if self.sent else None))


class ZaloResident(Resident):
    """Sends signed Zalo OA events to the gateway (re-sent like Zalo does when the gateway does not answer 200);
    reads what the gateway sent to the fake Zalo API."""

    def __init__(self, name: str, rng: random.Random, secrets: Secrets, url: str, session: aiohttp.ClientSession,
                 api: Any) -> None:
        super().__init__(name, rng, secrets)
        self.url = url
        self.session = session
        self.api = api
        self.user = uuid.uuid4().hex[:16]
        self.conv = f"zalo:{self.user}"
        self.cursor = 0

    async def _send(self, sent: Sent) -> None:
        from tests.auxil.fake_zalo_oa import event

        body, headers = event(self.user, sent.text, msg_id=sent.id)
        deadline = sent.at + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                async with self.session.post(self.url, data=body, headers=headers) as response:
                    if response.status == 200:
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(1.0)
        while not sent.answered and time.monotonic() < deadline:
            await self.collect()
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.3)
        await self.collect()  # the rest of a multi-part answer

    async def collect(self) -> None:
        mine = [m for user, m in self.api.messages if user == self.user]
        for message in mine[self.cursor:]:
            target = self.sent[-1] if self.sent else None
            text = str(message.get("text") or "")
            if target is not None and any(r["text"] == text and text for r in target.replies):
                self.counts.duplicates += 1
            buttons = ((message.get("attachment") or {}).get("payload") or {}).get("buttons") or []
            choices = [(b["title"], b["payload"]) for b in buttons]
            # more than five buttons come as a numbered list: "2. Quay lại" → send "2"
            for line in text.splitlines():
                numbered = re.match(r"^\s*(\d+)\.\s+(.+)$", line)
                if numbered:
                    choices.append((numbered.group(2).strip(), numbered.group(1)))
            self.take({"text": text, "busy": text.startswith(BUSY_TEXT_START), "choices": choices}, target)
        self.cursor = len(mine)


# --- volunteers -----------------------------------------------------------------------------------------------


class Desk:
    """Volunteers, played through the same calls as the Telegram desk: claim, answer once, close."""

    def __init__(self, redis_url: str) -> None:
        from bot.state import connect

        self.redis = connect(redis_url)
        self.closed = 0

    async def run(self, stop: asyncio.Event) -> None:
        from bot.handoff import Bus, Tickets, consume

        tickets, bus = Tickets(self.redis, "vi-du"), Bus(self.redis)

        async def handle(fields: dict[str, str]) -> None:
            ticket = await tickets.get(fields.get("ticket", ""))
            if ticket is None or ticket.status == "closed":
                return
            if fields.get("type") == "opened" and ticket.status == "open":
                ticket = await tickets.claim(ticket.id, "7001", "Minh")
                await bus.to_resident(ticket.conv, "claimed", ticket.claimed_name, ticket.id)
                await bus.to_resident(ticket.conv, "text", "Minh (tình nguyện viên): Chào bác, bác cần giúp gì ạ?",
                                      ticket.id)
            elif fields.get("type") == "resident_message":
                await bus.to_resident(ticket.conv, "text", "Minh (tình nguyện viên): Bác mở VNeID, chọn Quên "
                                      "mật khẩu rồi làm theo hướng dẫn nhé.", ticket.id)
                await tickets.close(ticket.id)
                await bus.to_resident(ticket.conv, "closed", "", ticket.id)
                self.closed += 1

        await consume(self.redis, "gw:team", "chaos-desk", "desk", handle, stop, block_ms=500, retry_s=1.0)


# --- faults and watching --------------------------------------------------------------------------------------

DOWN_S = {"redis": 2.0, "actions": 2.0, "rasa": 2.0, "web": 1.0, "zalo_oa": 1.0}


async def inject_faults(stack: Stack, rng: random.Random, window_s: float, rounds: int,
                        log: list[dict[str, Any]]) -> None:
    """Kill each kind of process `rounds` times at random moments in the window, starting it again after a pause."""
    start = time.monotonic()
    plan: list[tuple[float, str]] = []
    for _ in range(rounds):
        for kind in DOWN_S:
            plan.append((rng.uniform(window_s * 0.1, window_s * 0.9), kind))
    plan.sort()
    for at, kind in plan:
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        candidates = [name for name in stack.services if name == kind or re.fullmatch(rf"{kind}\d+", name)]
        if not candidates:
            continue
        name = rng.choice(candidates)
        service = stack.services[name]
        service.kill()
        log.append({"t": round(time.monotonic() - start, 1), "killed": name})
        await asyncio.sleep(DOWN_S[kind])
        service.start()


async def watch(stack: Stack, residents: list[Resident], stop: asyncio.Event, shrank: set[str],
                killed: set[str]) -> None:
    """Sample each conversation's stored history length; a drop means history was lost. Also notice crashes."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(stack.redis_url, socket_timeout=1, socket_connect_timeout=0.5)
    longest: dict[str, int] = {}
    while not stop.is_set():
        try:
            for resident in residents:
                length = int(await client.llen(f"tracker:{resident.conv}:events"))
                if length < longest.get(resident.conv, 0):
                    shrank.add(resident.conv)
                longest[resident.conv] = max(length, longest.get(resident.conv, 0))
        except Exception:  # noqa: BLE001 - Redis is being restarted
            pass
        for service in stack.services.values():
            if service.popen is not None and service.popen.poll() is not None:
                killed.add(service.name)  # exited without being killed: a crash; start it again
                service.check()
                service.start()
        await asyncio.sleep(0.5)
    await client.aclose()


# --- the report -----------------------------------------------------------------------------------------------


def scan_personal_data(stack: Stack, residents: list[Resident]) -> dict[str, Any]:
    """Every resident's raw CCCD, phone, OTP and card number, searched in every Redis key and every log."""
    patterns = [(kind, raw_pattern(value)) for r in residents
                for kind, value in zip(("cccd", "phone", "otp", "card"), r.secrets.values(), strict=True)]
    hits: list[dict[str, str]] = []
    places = [(f"redis:{key}", text) for key, text in all_keys_text(stack.redis_url).items()]
    places += [(f"log:{log.name}", log.read_text(errors="replace")) for log in stack.logs()]
    for where, text in places:
        for kind, pattern in patterns:
            found = pattern.search(text)
            if found:
                # the surroundings, to find where it came from (the value itself is synthetic)
                context = text[max(0, found.start() - 40):found.end() + 40]
                hits.append({"where": where, "kind": kind, "context": context})
    return {"hits": len(hits), "examples": hits[:10]}


def history_checks(stack: Stack, residents: list[Resident]) -> int:
    """Messages Rasa handled more than once (the same message id twice in one conversation)."""
    import redis

    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    twice = 0
    for resident in residents:
        ids = [json.loads(e).get("message_id") for e in client.lrange(f"tracker:{resident.conv}:events", 0, -1)
               if json.loads(e).get("event") == "user"]
        ids = [i for i in ids if i]
        twice += len(ids) - len(set(ids))
    client.close()
    return twice


def stored_ratings(stack: Stack) -> int:
    import redis

    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    count = sum(1 for _, fields in client.xrange("feedback:v1") if fields.get("kind") == "rating")
    client.close()
    return count


async def run(residents_n: int, window_s: float, rounds: int, seed: int, run_dir: Path) -> dict[str, Any]:
    from tests.auxil.fake_zalo_oa import FakeZaloOA

    rng = random.Random(seed)
    async with FakeZaloOA() as zalo_api:
        stack = Stack(run_dir, rasa_replicas=2, web_replicas=2, zalo_oa_api=zalo_api.base)
        started = time.monotonic()
        try:
            await stack.start()
            startup_s = time.monotonic() - started
            print(f"stack up in {startup_s:.0f} s (balancer: {stack.balancer}); {residents_n} residents, "
                  f"{rounds} kill(s) of each kind in {window_s:.0f} s", flush=True)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                residents: list[Resident] = []
                for i in range(residents_n):
                    secrets = Secrets.make(rng)
                    resident_rng = random.Random(rng.random())
                    if i % 2:
                        residents.append(ZaloResident(f"z{i}", resident_rng, secrets,
                                                      f"http://127.0.0.1:{stack.ports['zalo_oa']}/webhooks/zalo-oa",
                                                      session, zalo_api))
                    else:
                        residents.append(WebResident(f"w{i}", resident_rng, secrets, stack.web_url, session))
                desk = Desk(stack.redis_url)
                stop = asyncio.Event()
                shrank: set[str] = set()
                crashed: set[str] = set()
                faults: list[dict[str, Any]] = []
                background = [asyncio.create_task(desk.run(stop)),
                              asyncio.create_task(watch(stack, residents, stop, shrank, crashed))]
                until = time.monotonic() + window_s
                chaos = asyncio.create_task(inject_faults(stack, rng, window_s, rounds, faults))
                await asyncio.gather(*(r.run(until, desk) for r in residents))
                await chaos
                # the faults are over: everything held must now be answered
                drain_until = time.monotonic() + 120
                while time.monotonic() < drain_until and any(not s.answered for r in residents for s in r.sent):
                    await asyncio.gather(*(r.collect() for r in residents))
                    await asyncio.sleep(1.0)
                stop.set()
                await asyncio.gather(*background, return_exceptions=True)
                await desk.redis.aclose()
            sent = [s for r in residents for s in r.sent]
            given = sum(r.counts.given for r in residents)
            stored = stored_ratings(stack)
            report = {
                "residents": residents_n, "window_s": window_s, "balancer": stack.balancer,
                "kills": {name: s.kills for name, s in stack.services.items() if s.kills},
                "messages": {"sent": len(sent), "answered": sum(s.answered for s in sent),
                             "busy_then_answered": sum(s.busy and s.answered for s in sent),
                             "lost": sum(not s.answered for s in sent),
                             "replies_delivered_twice": sum(r.counts.duplicates for r in residents)},
                "ratings": {"given": given, "stored": stored, "duplicated": max(0, stored - given),
                            "lost": max(0, given - stored),
                            "forged_attempts": sum(r.counts.forged for r in residents)},
                "history": {"conversations_shrank": len(shrank), "messages_handled_twice": history_checks(stack,
                                                                                                          residents)},
                "personal_data": scan_personal_data(stack, residents),
                "crashed": sorted(crashed),
                "volunteer_tickets_closed": desk.closed,
                "faults": faults,
                "elapsed_s": round(time.monotonic() - started, 1),
            }
            lost = [{"resident": r.name, "text": s.text[:60]} for r in residents for s in r.sent if not s.answered]
            report["lost_examples"] = lost[:10]
            return report
        finally:
            stack.stop()


def goals_met(report: dict[str, Any]) -> bool:
    m, r, h = report["messages"], report["ratings"], report["history"]
    return (m["lost"] == 0 and r["duplicated"] == 0 and r["lost"] == 0 and h["conversations_shrank"] == 0
            and h["messages_handled_twice"] == 0 and report["personal_data"]["hits"] == 0 and not report["crashed"]
            and m["sent"] > 0)


def print_table(report: dict[str, Any]) -> None:
    m, r, h, p = report["messages"], report["ratings"], report["history"], report["personal_data"]
    rows = [
        ("messages sent / answered", f"{m['sent']} / {m['answered']}"),
        ("told busy, answered later", m["busy_then_answered"]),
        ("lost (goal 0)", m["lost"]),
        ("replies delivered twice", m["replies_delivered_twice"]),
        ("ratings given / stored", f"{r['given']} / {r['stored']}"),
        ("ratings duplicated / lost (goal 0)", f"{r['duplicated']} / {r['lost']}"),
        ("forged rating attempts (none stored)", r["forged_attempts"]),
        ("conversations whose history shrank (goal 0)", h["conversations_shrank"]),
        ("messages handled twice by Rasa (goal 0)", h["messages_handled_twice"]),
        ("raw personal data found (goal 0)", p["hits"]),
        ("processes crashed (goal 0)", len(report["crashed"])),
        ("kills", ", ".join(f"{k}×{v}" for k, v in report["kills"].items())),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--duration", type=float, default=150.0, help="seconds during which processes are killed")
    parser.add_argument("--rounds", type=int, default=2, help="kills of each kind of process")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--short", action="store_true", help="the CI form: 8 residents, 60 s, one kill of each")
    args = parser.parse_args()
    if args.short:
        args.residents, args.duration, args.rounds = 8, 60.0, 1
    run_dir = ROOT / ".run" / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"seed {args.seed}; logs in {run_dir.relative_to(ROOT)}", flush=True)
    report = asyncio.run(run(args.residents, args.duration, args.rounds, args.seed, run_dir))
    report["seed"] = args.seed
    print_table(report)
    ok = goals_met(report)
    print("all goals met" if ok else "GOALS MISSED", flush=True)
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
