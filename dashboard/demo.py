"""Synthetic but realistic data for a living dashboard: `make demo-data` (python -m dashboard demo-data).

Simulates residents of a commune over the last months — questions answered or not, step-by-step walkthroughs
(with the steps people get stuck at), satisfaction ratings that improve month by month, comments, volunteer
handoffs — and writes them to the same streams and keys the action server and gateways write, with stream ids at
the simulated times. A demo staff account is created too. Deterministic for a given seed and time.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.records import (
    ACK_KEY,
    ACKED,
    ANALYTICS_STREAM,
    COMMENT_KEY,
    FEEDBACK_STREAM,
    HANDOFF_STREAM,
    MAX_COMMENT_CHARS,
    FeedbackRecord,
    pseudonym,
)
from common.text import mask_pii, truncate
from dashboard.auth import Accounts
from dashboard.metrics.periods import ICT

DEMO_MARKER = "dashboard:demo-data"
DEMO_USER, DEMO_PASSWORD = "canbo", "demo-matkhau"
DEMO_KEY = b"demo-data-pseudonyms"  # demo residents only; never the real FEEDBACK_ID_KEY

# (guide id, number of steps, the step people find hard, weight): the popular procedures of a commune
GUIDES = [
    ("vneid-activate", 7, 4, 18), ("vneid-register-level2", 6, 3, 12), ("dvc-login", 6, 3, 14),
    ("dvc-submit", 8, 5, 10), ("payment-online", 6, 4, 8), ("birth-registration", 7, 5, 7),
    ("residence-registration", 8, 6, 6), ("judicial-record", 7, 4, 5), ("marriage-registration", 7, 5, 3),
    ("certified-copy", 6, 3, 3), ("e-signature", 6, 4, 2),
]
CHANNELS = [("zalo", 62), ("web", 23), ("telegram", 15)]
COMMUNES = [("vi-du", 80), ("vi-du-bac", 12), ("vi-du-nam", 8)]
# Questions the guides do not cover yet, with how often residents ask them and the closest guides found.
GAP_QUESTIONS = [
    (["đổi giấy phép lái xe ở đâu", "doi bang lai xe online dc ko", "muốn đổi bằng lái xe máy thì làm sao",
      "đổi giấy phép lái xe trên dịch vụ công"], 14, ["dvc-submit", "dvc-login"]),
    (["cấp lại sổ đỏ bị mất", "làm lại sổ đỏ thế nào", "xin cấp lại giấy chứng nhận quyền sử dụng đất"], 9,
     ["dvc-submit", "certified-copy"]),
    (["đăng ký xe máy mới mua", "dang ky xe may online", "đăng ký biển số xe máy"], 8, ["dvc-submit"]),
    (["xin giấy xác nhận tình trạng hôn nhân", "giấy xác nhận độc thân làm ở đâu",
      "xac nhan tinh trang hon nhan online"], 7, ["marriage-registration", "dvc-submit"]),
    (["hưởng trợ cấp thất nghiệp thế nào", "đăng ký bảo hiểm thất nghiệp online"], 5, ["dvc-submit"]),
    (["tra cứu phạt nguội", "xem phạt nguội xe máy ở đâu"], 4, []),
    (["gia hạn thẻ bảo hiểm y tế", "mua bảo hiểm y tế hộ gia đình"], 4, ["payment-online"]),
    (["đăng ký khai tử cho ông ngoại cần giấy gì"], 3, ["death-registration"]),
    (["giá vàng hôm nay", "thời tiết ngày mai"], 3, []),
    (["tôi quên mật khẩu vneid", "quen mat khau vneid phai lam sao"], 3, ["vneid-troubleshoot", "vneid-activate"]),
]
# Comments residents leave, each with what staff answered when they received it and when they acted on it.
RECEIVED = "Xã đã nhận góp ý và sẽ trả lời bạn trong tuần này."
COMMENTS = [
    ("Hướng dẫn dễ hiểu, cảm ơn xã.", "Cảm ơn bạn đã góp ý.", "Cảm ơn bạn. Xã sẽ tiếp tục giữ hướng dẫn ngắn gọn như vậy."),
    ("Chữ trong ảnh hướng dẫn hơi nhỏ, người già khó đọc.", RECEIVED,
     "Xã đã làm lại ảnh hướng dẫn với chữ to và rõ hơn."),
    ("Bước nhập mã OTP tôi chờ lâu quá mới nhận được tin nhắn.", RECEIVED,
     "Xã đã thêm vào hướng dẫn: nếu sau 2 phút chưa có mã, bấm \"Gửi lại mã\" và kiểm tra sóng điện thoại."),
    ("Nên có hướng dẫn đổi giấy phép lái xe.", RECEIVED,
     "Xã đang soạn hướng dẫn đổi giấy phép lái xe, dự kiến có trong tháng tới."),
    ("Tôi gọi số 0912 345 678 không ai nghe máy.", "Xã đã nhận phản ánh và đang kiểm tra đường dây.",
     "Đường dây nóng đã có người trực trong giờ hành chính; ngoài giờ bạn nhắn qua Zalo của xã."),
    ("Cán bộ hỗ trợ qua Zalo rất nhiệt tình.", "Cảm ơn bạn đã góp ý.", "Cảm ơn bạn, xã đã chuyển lời khen tới cán bộ."),
    ("Trang dịch vụ công hay bị lỗi vào buổi tối.", RECEIVED,
     "Xã đã báo lỗi lên tỉnh. Trong lúc chờ, bạn nên nộp hồ sơ vào buổi sáng."),
    ("Mong xã có thêm người hướng dẫn trực tiếp vào sáng thứ Bảy.", RECEIVED,
     "Từ tháng này, bộ phận một cửa có cán bộ hướng dẫn sáng thứ Bảy, 7h30–11h30."),
    ("Thanh toán lệ phí bị trừ tiền hai lần, chưa thấy hoàn.", "Xã đã nhận và chuyển cho bộ phận thanh toán kiểm tra.",
     "Khoản trừ trùng đã được hoàn về tài khoản của bạn."),
    ("Nên ghi rõ cần mang giấy tờ gì khi đến xã.", RECEIVED,
     "Xã đã bổ sung mục \"Cần chuẩn bị\" vào từng hướng dẫn."),
    ("Tôi không biết chụp ảnh CCCD thế nào cho đúng.", RECEIVED,
     "Xã đã thêm ảnh mẫu chụp CCCD vào hướng dẫn nộp hồ sơ."),
    ("Trợ lý trả lời nhanh, rất tiện.", "Cảm ơn bạn đã góp ý.", "Cảm ơn bạn đã dùng trợ lý."),
]


@dataclass
class DemoSummary:
    """What demo-data wrote."""

    feedback: int
    comments: int
    analytics: int
    handoffs: int
    acknowledged: int
    since: datetime


class DemoError(RuntimeError):
    """The target Redis already holds data that is not demo data."""


def _pick(rng: random.Random, weighted: Iterable[tuple[Any, int]]) -> Any:
    items = list(weighted)
    return rng.choices([i[0] for i in items], weights=[i[1] for i in items])[0]


def _office_time(rng: random.Random, day: datetime) -> float:
    """A moment in the day, mostly in office hours and early evening."""
    hour = rng.choices(range(6, 23), weights=[1, 4, 8, 9, 8, 6, 4, 6, 8, 8, 7, 5, 4, 5, 4, 2, 1])[0]
    return (day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))).timestamp()


class _Streams:
    """Collects entries per stream, then writes them in time order with ids at their own times."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[float, dict[str, str], str]]] = {
            FEEDBACK_STREAM: [], ANALYTICS_STREAM: [], HANDOFF_STREAM: []}

    def add(self, stream: str, at: float, fields: dict[str, str], comment: str = "") -> None:
        self.entries[stream].append((at, fields, comment))

    def write(self, redis: Any, now: float, retention_days: int) -> dict[str, list[tuple[str, float, str]]]:
        written: dict[str, list[tuple[str, float, str]]] = {}
        for stream, items in self.entries.items():
            items.sort(key=lambda item: item[0])
            pipe = redis.pipeline(transaction=False)
            last_ms, seq, ids = 0, 0, []
            for at, fields, comment in items:
                ms = int(at * 1000)
                seq = seq + 1 if ms <= last_ms else 0
                ms = max(ms, last_ms)
                last_ms = ms
                entry_id = f"{ms}-{seq}"
                pipe.xadd(stream, fields, id=entry_id)
                if comment:
                    ttl = int(retention_days * 86400 - (now - at))
                    if ttl > 0:
                        pipe.set(COMMENT_KEY.format(id=entry_id), comment, ex=ttl)
                ids.append((entry_id, at, comment))
            pipe.execute()
            written[stream] = ids
        return written


def clear(redis: Any) -> None:
    """Delete the streams, comments and acknowledgements the dashboard reads (used before writing demo data)."""
    redis.delete(FEEDBACK_STREAM, ANALYTICS_STREAM, HANDOFF_STREAM, ACKED, DEMO_MARKER)
    for pattern in (COMMENT_KEY.format(id="*"), ACK_KEY.format(id="*")):
        batch = list(redis.scan_iter(match=pattern, count=1000))
        for i in range(0, len(batch), 500):
            redis.delete(*batch[i:i + 500])


def generate(redis: Any, now: datetime | None = None, months: int = 11, seed: int = 2026, replace: bool = False,
             retention_days: int = 365) -> DemoSummary:
    """Fill Redis with `months` previous months plus the current month up to now; create the demo account."""
    now = (now or datetime.now(ICT)).astimezone(ICT)
    has_data = any(redis.exists(s) for s in (FEEDBACK_STREAM, ANALYTICS_STREAM, HANDOFF_STREAM))
    if has_data and not (replace or redis.exists(DEMO_MARKER)):
        raise DemoError("this Redis already holds feedback or analytics that are not demo data; run "
                        "`python -m dashboard demo-data --replace` to delete them first, or point REDIS_URL at "
                        "another database (e.g. redis://127.0.0.1:6379/1)")
    clear(redis)
    rng = random.Random(seed)
    year, month = now.year, now.month - months
    while month < 1:
        year, month = year - 1, month + 12
    since = datetime(year, month, 1, tzinfo=ICT)
    streams = _Streams()
    total_days = (now - since).days + 1
    residents = [f"demo:{i}" for i in range(4000)]
    ticket_no = 0
    for offset in range(total_days):
        day = since + timedelta(days=offset)
        progress = offset / max(1, total_days - 1)  # 0 → 1: the service gets better and better known
        base = 22 if day.weekday() < 5 else 9
        for _ in range(max(1, int(rng.gauss(base * (0.65 + 0.5 * progress), 4)))):
            at = _office_time(rng, day)
            if at >= now.timestamp() - 60:
                continue
            who = pseudonym(rng.choice(residents), DEMO_KEY)
            ctx = {"channel": _pick(rng, CHANNELS), "commune": _pick(rng, COMMUNES), "resident": who}
            ticket_no = _conversation(rng, streams, at, ctx, progress, ticket_no)
    written = streams.write(redis, now.timestamp(), retention_days)
    acknowledged = _acknowledge(rng, redis, written[FEEDBACK_STREAM], now)
    Accounts(redis).add(DEMO_USER, DEMO_PASSWORD, replace=True)
    redis.set(DEMO_MARKER, now.isoformat())
    return DemoSummary(
        feedback=len(written[FEEDBACK_STREAM]), comments=sum(1 for _, _, c in written[FEEDBACK_STREAM] if c),
        analytics=len(written[ANALYTICS_STREAM]), handoffs=len(written[HANDOFF_STREAM]),
        acknowledged=acknowledged, since=since)


def _record(at: float, ctx: dict[str, str], **fields: Any) -> dict[str, str]:
    return {"at": f"{at:.3f}", **ctx, **{k: str(v) for k, v in fields.items()}}


def _conversation(rng: random.Random, streams: _Streams, at: float, ctx: dict[str, str], progress: float,
                  ticket_no: int) -> int:
    """One resident's visit: questions, maybe a walkthrough, a rating, a comment, a volunteer."""
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        at += rng.uniform(20, 120)
        roll = rng.random()
        if roll < 0.80 - 0.05 * (1 - progress):
            guide = _pick(rng, ((g[0], g[3]) for g in GUIDES))
            streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind="answer", guide_id=guide))
        else:
            wordings, _, candidates = _pick(rng, ((g, g[1]) for g in GAP_QUESTIONS))
            kind = "clarify" if candidates and rng.random() < 0.6 else "out_of_scope"
            streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind=kind, question=rng.choice(wordings),
                                                      candidates=json.dumps(candidates[:3])))
    stuck: list[int] = []
    topic = ""
    if rng.random() < 0.42:
        guide_id, total, hard, _ = _pick(rng, ((g, g[3]) for g in GUIDES))
        topic = guide_id
        started = at = at + rng.uniform(10, 60)
        finished = False
        wt = {"guide_id": guide_id, "total": str(total), "started_at": f"{started:.3f}"}
        streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind="walkthrough", event="started", step=1, **wt))
        for step in range(1, total + 1):
            at += rng.uniform(15, 45) * (2.2 if step == hard else 1.0)
            difficulty = (0.30 if step == hard else 0.04) * (1.15 - 0.45 * progress)
            if rng.random() < difficulty:
                stuck.append(step)
                streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind="walkthrough", event="stuck", step=step, **wt))
                at += rng.uniform(40, 120)
                if rng.random() < 0.5:  # gave up at the step they were stuck on
                    break
            elif rng.random() < 0.01:  # drifted away without a word
                break
            if step < total:
                streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind="walkthrough", event="step", step=step + 1,
                                                          **wt))
            else:
                finished = True
                streams.add(ANALYTICS_STREAM, at, _record(at, ctx, kind="walkthrough", event="finished", step=total,
                                                          duration_s=f"{at - started:.1f}", **wt))
        if finished and rng.random() < 0.78:
            at += rng.uniform(5, 30)
            p_happy = 0.84 + 0.11 * progress - (0.12 if stuck else 0.0)
            rating = "hai_long" if rng.random() < p_happy else _pick(rng, (("binh_thuong", 6), ("chua_hai_long", 4)))
            record = FeedbackRecord(ctx["resident"], ctx["channel"], ctx["commune"], kind="rating", rating=rating,
                                    topic=guide_id, at=at,
                                    walkthrough={"guide_id": guide_id, "total": total, "duration_s": round(at - started),
                                                 "stuck_steps": stuck, "finished": True})
            streams.add(FEEDBACK_STREAM, at, record.fields())
    if rng.random() < (0.25 if stuck else 0.03):
        ticket_no += 1
        ticket = f"T{ticket_no:05d}"
        at += rng.uniform(10, 60)
        base = {"ticket": ticket, "channel": ctx["channel"], "commune": ctx["commune"], "topic": topic,
                "resident": ctx["resident"]}
        streams.add(HANDOFF_STREAM, at, {"event": "opened", "at": f"{at:.3f}", **base})
        if rng.random() < 0.08:
            streams.add(HANDOFF_STREAM, at + 900, {"event": "reminded", "at": f"{at + 900:.3f}", **base})
        else:
            wait = rng.lognormvariate(6.0 - 0.5 * progress, 0.7)  # median ~7 min, getting faster
            for event, delay in (("claimed", wait * 0.6), ("first_reply", wait), ("closed", wait + rng.uniform(300, 2400))):
                streams.add(HANDOFF_STREAM, at + delay, {"event": event, "at": f"{at + delay:.3f}", **base})
    if rng.random() < 0.05:
        at += rng.uniform(10, 90)
        comment = truncate(mask_pii(rng.choice(COMMENTS)[0]), MAX_COMMENT_CHARS)
        record = FeedbackRecord(ctx["resident"], ctx["channel"], ctx["commune"], kind="comment", topic=topic, at=at)
        streams.add(FEEDBACK_STREAM, at, record.fields(), comment)
    return ticket_no


def _acknowledge(rng: random.Random, redis: Any, feedback: list[tuple[str, float, str]], now: datetime) -> int:
    """Staff have answered most older comments and some of this month's."""
    month_start = datetime(now.year, now.month, 1, tzinfo=ICT).timestamp()
    done = 0
    replies = {mask_pii(text): (received, acted) for text, received, acted in COMMENTS}
    pipe = redis.pipeline(transaction=False)
    for entry_id, at, comment in feedback:
        if not comment or rng.random() > (0.85 if at < month_start else 0.4):
            continue
        status = "acted" if rng.random() < 0.6 else "received"
        ack_at = min(at + rng.uniform(3600, 4 * 86400), now.timestamp() - 60)
        received, acted = replies.get(comment, (RECEIVED, RECEIVED))
        pipe.hset(ACK_KEY.format(id=entry_id), mapping={"status": status, "reply": acted if status == "acted" else received,
                                                         "by": DEMO_USER, "at": f"{ack_at:.3f}"})
        pipe.zadd(ACKED, {entry_id: ack_at})
        done += 1
    pipe.execute()
    return done
