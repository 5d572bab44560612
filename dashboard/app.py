"""The staff dashboard web app: create_app(settings, redis) builds it; nothing happens at import.

Every page except /login, /public, /healthz and /static needs a staff session: the signed cookie (HttpOnly,
SameSite=Lax) holds only a random session id, checked in Redis on every request and deleted at logout; without a
live one an HTML request is redirected to /login (303) and sees no data. Every POST carries the session's CSRF
token. All text is escaped by Jinja's autoescape; charts are inline SVG built in dashboard/charts.py.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import redis as redis_lib
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from common.records import RATINGS
from common.text import clean
from dashboard import charts, exports, formatting
from dashboard.auth import MAX_FAILURES, SESSION_TTL_S, Accounts, Limit, csrf_ok, csrf_token
from dashboard.metrics import (
    ACK_STATUSES,
    ICT,
    TARGET_DURATION_S,
    Period,
    build_report,
    filter_feedback,
    funnels,
    knowledge_gaps,
    months_ending,
    parse_period,
    runs_started_in,
    satisfaction_target,
    trend,
    walkthrough_runs,
    weeks_ending,
)
from dashboard.settings import ROOT, DashboardSettings
from dashboard.store import MAX_REPLY_CHARS, DashboardStore
from procedures.search import display_name, get_procedure_index

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "dashboard_session"
SESSION_MAX_AGE = SESSION_TTL_S  # the cookie is renewed on every request; the session in Redis is not
DOWNLOAD_COOKIE = "dashboard_download"
PAGE_SIZE = 50
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
NAV = [("/", "Tổng quan"), ("/feedback", "Phản hồi"), ("/gaps", "Câu hỏi chưa có hướng dẫn"),
       ("/funnel", "Hướng dẫn từng bước"), ("/procedures", "Tra cứu thủ tục"), ("/reports", "Xuất báo cáo")]
PROCEDURE_CODE = re.compile(r"^\d{1,2}\.\d{6}$")
PROCEDURE_RESULTS = 15
REFUSED = {  # what a staff member reads when a login limit refuses the attempt (HTTP 429)
    Limit.USER_AT_ADDRESS: f"Bạn đã đăng nhập sai quá {MAX_FAILURES} lần. Vui lòng đợi 15 phút rồi thử lại, hoặc nhờ "
                           "người quản trị đặt lại mật khẩu.",
    Limit.USER: "Tài khoản này đang tạm khoá vì có quá nhiều lần đăng nhập sai. Vui lòng đợi 15 phút rồi thử lại, "
                "hoặc nhờ người quản trị đặt lại mật khẩu.",
    Limit.ADDRESS: "Có quá nhiều lần đăng nhập sai từ máy này. Vui lòng đợi 15 phút rồi thử lại.",
}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_UNKNOWN = object()  # request.state.user before the session was looked up


class LoginRequired(Exception):
    """Raised by the staff dependency when there is no valid session."""


class BadForm(Exception):
    """A POST without the session's CSRF token."""


@dataclass(eq=False)
class Labels:
    """Vietnamese names for guide ids (from knowledge/) and commune ids (from communes/), loaded on first use."""

    knowledge_dir: Path
    communes_dir: Path

    @lru_cache(maxsize=1)  # noqa: B019 - one Labels per app, kept for the app's lifetime
    def guides(self) -> dict[str, Any]:
        """The parsed guides, or {} when they cannot be read (ids are shown instead)."""
        try:
            from common.guides import load_guides

            return load_guides(self.knowledge_dir)
        except Exception:  # noqa: BLE001 - labels are a nicety; the figures must still show
            logger.warning("Could not read the guides in %s: showing guide ids", self.knowledge_dir, exc_info=True)
            return {}

    def topic(self, guide_id: str) -> str:
        """A guide's short title, or its id."""
        guide = self.guides().get(guide_id)
        return guide.short_title if guide is not None else (guide_id or "không rõ")

    def step(self, guide_id: str, step: int) -> str:
        """The text of a walkthrough step (shortened), or ''."""
        guide = self.guides().get(guide_id)
        if guide is None or not 1 <= step <= len(guide.steps):
            return ""
        text = guide.steps[step - 1]
        return text if len(text) <= 90 else text[:89] + "…"

    @lru_cache(maxsize=64)  # noqa: B019
    def commune(self, commune_id: str) -> str:
        """The commune's name from communes/<id>.yml, or its id."""
        path = self.communes_dir / f"{commune_id}.yml"
        if commune_id and path.is_file():
            try:
                from common.communes import load_commune

                return load_commune(path).name
            except Exception:  # noqa: BLE001
                logger.warning("Could not read %s", path, exc_info=True)
        return commune_id or "không rõ"

    @staticmethod
    def channel(channel: str) -> str:
        """A channel's display name."""
        return formatting.label(formatting.CHANNEL_LABELS, channel)


def _environment(labels: Labels) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(
        percent=formatting.percent, number=formatting.number, duration=formatting.duration,
        datetime=formatting.date_time, day=formatting.day, topic=labels.topic, channel=labels.channel,
        commune=labels.commune, rating=lambda v: formatting.label(formatting.RATING_LABELS, v),
        kind=lambda v: formatting.label(formatting.KIND_LABELS, v),
        ack=lambda v: formatting.label(formatting.ACK_LABELS, v),
    )
    env.globals.update(topic_name=labels.topic, channel_name=labels.channel, commune_name_of=labels.commune)
    return env


def _safe_next(value: str | None, default: str = "/") -> str:
    """Only local paths are followed after login or a form (no //host or scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _period_or_default(value: str | None, messages: list[str]) -> Period:
    try:
        return parse_period(value)
    except ValueError:
        messages.append("Kỳ không hợp lệ (ví dụ đúng: 2026-11 hoặc 2026-Q4); đang hiển thị tháng này.")
        return parse_period(None)


def _period_choices(now: float, months: int = 12, quarters: int = 4) -> list[Period]:
    current = parse_period(None)
    choices = months_ending(current, months)[::-1]
    year, quarter = current.year, (current.start.month - 1) // 3 + 1
    for _ in range(quarters):
        choices.append(parse_period(f"{year}-Q{quarter}"))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return choices


def client_address(request: Request, trust_forwarded: bool) -> str:
    """The address a request comes from, as the login limits count it.

    The peer's address, unless the dashboard is told it sits behind the commune's own proxy: then the last
    X-Forwarded-For entry, the one that proxy appended (earlier entries are whatever the client sent).
    """
    if trust_forwarded:
        last = ",".join(request.headers.getlist("x-forwarded-for")).split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass  # no usable header: count the proxy itself rather than trust garbage
    return request.client.host if request.client else ""


def current_user(request: Request) -> str | None:
    """The username of the request's live session (looked up once per request), or None."""
    user = getattr(request.state, "user", _UNKNOWN)
    if user is _UNKNOWN:
        accounts = request.app.state.accounts
        user = accounts.session_user(request.session.get("sid"))
        user = request.state.user = user if user is not None and accounts.exists(user) else None
    return user if isinstance(user, str) else None


def staff(request: Request) -> str:
    """The logged-in staff member's username; LoginRequired without a live session (or for a deleted account)."""
    user = current_user(request)
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired()
    return user


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's; BadForm otherwise."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        raise BadForm()
    return form


StaffUser = Annotated[str, Depends(staff)]
CheckedForm = Annotated[FormData, Depends(checked_form)]


def create_app(settings: DashboardSettings, redis: Any) -> FastAPI:
    """Build the dashboard on a Redis client (redis.Redis with decode_responses=True)."""
    app = FastAPI(title="Bảng điều khiển cán bộ", docs_url=None, redoc_url=None, openapi_url=None)
    store = DashboardStore(redis)
    accounts = Accounts(redis)
    labels = Labels(settings.knowledge_dir, ROOT / "communes")
    env = _environment(labels)
    app.state.store, app.state.accounts, app.state.settings = store, accounts, settings

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.https_only)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session = request.session
        flashes = session.pop("flash", [])
        user = getattr(request.state, "user", None)  # looked up by the route: an error page never calls Redis
        user = user if isinstance(user, str) else None
        html = env.get_template(template).render(
            request=request, user=user, csrf=csrf_token(session), flashes=flashes, nav=NAV,
            path=request.url.path, commune_name=settings.commune_name, **context)
        return HTMLResponse(html, status_code=status_code)

    def flash(request: Request, message: str, level: str = "ok") -> None:
        request.session.setdefault("flash", []).append([level, message])

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, exc: BadForm) -> Response:
        return render(request, "error.html", 403, title="Biểu mẫu đã hết hạn",
                      message="Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại.")

    @app.exception_handler(redis_lib.RedisError)
    async def redis_down(request: Request, exc: redis_lib.RedisError) -> Response:
        logger.error("Redis error: %s", exc)
        return render(request, "error.html", 503, title="Tạm thời không đọc được dữ liệu",
                      message="Bảng điều khiển không kết nối được cơ sở dữ liệu (Redis). Vui lòng thử lại sau ít "
                              "phút hoặc báo cho người quản trị hệ thống.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "Không tìm thấy trang này.", 405: "Thao tác này không được hỗ trợ."}.get(
            exc.status_code, "Yêu cầu không hợp lệ.")
        with contextlib.suppress(redis_lib.RedisError):
            current_user(request)  # a logged-in staff member keeps the menu on an error page
        return render(request, "error.html", exc.status_code, title=message, message=message)

    # --- public -----------------------------------------------------------------------------------------------

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            redis.ping()
        except redis_lib.RedisError:
            return JSONResponse({"status": "redis unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        if current_user(request):
            return RedirectResponse(_safe_next(next), status_code=303)
        return render(request, "login.html", next=_safe_next(next), error=None)

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, form: CheckedForm) -> Response:
        username = str(form.get("username") or "").strip().lower()
        password = str(form.get("password") or "")
        target = _safe_next(str(form.get("next") or "/"))
        address = client_address(request, settings.trust_forwarded)
        result = accounts.login(username, password, address)
        if not result.ok:
            if result.limit is not None:
                logger.warning("Login refused (%s limit) for %r from %s", result.limit.value, username[:64], address)
                error, status = REFUSED[result.limit], 429
            else:
                error, status = "Tên đăng nhập hoặc mật khẩu không đúng.", 401
            return render(request, "login.html", status, next=target, error=error, username=username)
        accounts.end_session(request.session.get("sid"))  # whatever this browser had before is over
        request.session.clear()  # a fresh session (and CSRF token) after login
        request.session["sid"] = accounts.start_session(result.user)  # the only thing the cookie says about the user
        return RedirectResponse(target, status_code=303)

    @app.get("/public", response_class=HTMLResponse)
    def public(request: Request) -> Response:
        current_user(request)  # a logged-in staff member keeps the menu here
        months = months_ending(parse_period(None), 12)
        records = [i.record for i in store.feedback(months[0].since, months[-1].until, details=False)]
        monthly = trend(records, months)
        chart = charts.line_chart(
            "Tỷ lệ hài lòng theo tháng", [(f"{p.start.month}/{p.start.year % 100:02d}", s.percent) for p, s in monthly],
            [satisfaction_target(p.year) for p in months], empty_message="Chưa có đánh giá nào")
        return render(request, "public.html", monthly=monthly[::-1], chart=chart,
                      acknowledged=store.acknowledged(100),
                      pending=store.unacknowledged_count(time.time() - settings.retention_days * 86400),
                      target=satisfaction_target)

    # --- staff ------------------------------------------------------------------------------------------------

    @app.post("/logout")
    def logout(request: Request, user: StaffUser, form: CheckedForm) -> Response:
        accounts.end_session(request.session.get("sid"))  # the old cookie, replayed, finds no session
        request.session.clear()
        flash(request, "Bạn đã đăng xuất.")
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, user: StaffUser, month: str = "") -> Response:
        messages: list[str] = []
        period = _period_or_default(month, messages)
        now = time.time()
        months = months_ending(parse_period(f"{period.end - timedelta(days=1):%Y-%m}"), 12)
        weeks = weeks_ending(datetime.fromtimestamp(min(now, period.until - 1), ICT), 12)
        history = [i.record for i in store.feedback(min(months[0].since, weeks[0].since),
                                                    max(period.until, weeks[-1].until), details=False)]
        report = build_report(period, store.feedback(period.since, period.until),
                              store.analytics(period.since, period.until + 86400),
                              store.handoffs(period.since, period.until + 7 * 86400))
        monthly = trend(history, months)
        weekly = trend(history, weeks)

        def bars(groups: list[Any], name: Any) -> list[charts.Bar]:
            return [charts.Bar(name(key), s.percent or 0.0, f"{formatting.percent(s.percent)} ({s.total} đánh giá)",
                               (s.percent or 0) >= report.target) for key, s in groups]

        context: dict[str, Any] = {
            "period": period, "report": report, "messages": messages, "choices": _period_choices(now),
            "target_duration": TARGET_DURATION_S,
            "monthly_chart": charts.line_chart(
                "Tỷ lệ hài lòng theo tháng", [(f"{p.start.month}/{p.start.year % 100:02d}", s.percent)
                                              for p, s in monthly],
                [satisfaction_target(p.year) for p in months], empty_message="Chưa có đánh giá nào"),
            "weekly_chart": charts.line_chart(
                "Tỷ lệ hài lòng theo tuần (tuần bắt đầu ngày)", [(p.label, s.percent) for p, s in weekly],
                [satisfaction_target(p.year) for p in weeks], empty_message="Chưa có đánh giá nào"),
            "topic_chart": charts.bar_chart("Tỷ lệ hài lòng theo chủ đề", bars(report.by_topic, labels.topic),
                                            100, report.target, width=900, label_width=300,
                                            empty_message="Chưa có đánh giá trong kỳ này"),
            "channel_chart": charts.bar_chart("Tỷ lệ hài lòng theo kênh", bars(report.by_channel, labels.channel),
                                              100, report.target, width=520, label_width=130,
                                              empty_message="Chưa có đánh giá trong kỳ này"),
            "commune_chart": charts.bar_chart("Tỷ lệ hài lòng theo xã", bars(report.by_commune, labels.commune),
                                              100, report.target, width=520, label_width=130,
                                              empty_message="Chưa có đánh giá trong kỳ này"),
            "monthly": monthly[::-1], "weekly": weekly[::-1],
        }
        return render(request, "overview.html", **context)

    @app.get("/feedback", response_class=HTMLResponse)
    def feedback_list(request: Request, user: StaffUser, month: str = "", rating: str = "", channel: str = "",
                      topic: str = "", ack: str = "", q: str = "", page: int = 1) -> Response:
        messages: list[str] = []
        period = _period_or_default(month, messages)
        items = store.feedback(period.since, period.until)
        channels = sorted({i.record.channel for i in items if i.record.channel})
        topics = sorted({i.record.topic for i in items if i.record.topic}, key=labels.topic)
        rating = rating if rating in (*RATINGS, "none") else ""
        ack = ack if ack in ("yes", "no") else ""
        shown = filter_feedback(items, rating=rating, channel=channel, topic=topic, acked=ack, query=q[:100])
        shown.reverse()  # newest first
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        page = min(max(1, page), pages)
        filters = {"month": period.key, "rating": rating, "channel": channel, "topic": topic, "ack": ack, "q": q}
        query = urlencode({k: v for k, v in filters.items() if v})
        return render(request, "feedback.html", period=period, items=shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
                      total=len(items), matched=len(shown), page=page, pages=pages, filters=filters, query=query,
                      channels=channels, topics=topics, ratings=RATINGS, messages=messages,
                      choices=_period_choices(time.time()), back=f"/feedback?{query}&page={page}",
                      max_reply=MAX_REPLY_CHARS)

    @app.post("/feedback/{entry_id}/ack")
    def acknowledge(request: Request, entry_id: str, user: StaffUser, form: CheckedForm) -> Response:
        back = _safe_next(str(form.get("back") or ""), "/feedback")
        if not back.startswith("/feedback"):
            back = "/feedback"
        status = str(form.get("status") or "")
        reply = str(form.get("reply") or "").strip()
        if not ENTRY_ID.match(entry_id) or status not in ACK_STATUSES:
            flash(request, "Yêu cầu không hợp lệ: hãy chọn \"Đã tiếp nhận\" hoặc \"Đã xử lý\".", "error")
        elif status == "acted" and not reply:
            flash(request, "Khi đánh dấu \"Đã xử lý\", vui lòng viết vài dòng trả lời cho người dân.", "error")
        elif len(reply) > MAX_REPLY_CHARS:
            flash(request, f"Câu trả lời dài quá {MAX_REPLY_CHARS} ký tự, vui lòng rút gọn.", "error")
        elif not store.acknowledge(entry_id, status, reply, user):
            flash(request, "Không tìm thấy phản hồi này (có thể đã bị xoá).", "error")
        else:
            flash(request, f"Đã lưu: {formatting.ACK_LABELS[status]}. Nội dung trả lời hiện trên trang công khai.")
        return RedirectResponse(f"{back}#fb-{entry_id}" if ENTRY_ID.match(entry_id) else back, status_code=303)

    @app.get("/gaps", response_class=HTMLResponse)
    def gaps(request: Request, user: StaffUser, month: str = "") -> Response:
        messages: list[str] = []
        period = _period_or_default(month, messages)
        entries = store.analytics(period.since, period.until)
        groups = knowledge_gaps(entries)
        answered = sum(1 for e in entries if e.get("kind") in ("answer", "procedure"))
        unanswered = sum(g.count for g in groups)
        return render(request, "gaps.html", period=period, groups=groups[:60], more=max(0, len(groups) - 60),
                      answered=answered, unanswered=unanswered, messages=messages,
                      choices=_period_choices(time.time()))

    @app.get("/procedures", response_class=HTMLResponse)
    def procedures_page(request: Request, user: StaffUser, q: str = "", code: str = "") -> Response:
        index = get_procedure_index()
        query = clean(q)[:200].strip()
        record = index.by_code.get(code) if PROCEDURE_CODE.match(code) else None
        hits = index.search(query, top=PROCEDURE_RESULTS) if query and record is None else []
        if code and record is None:
            raise StarletteHTTPException(status_code=404)
        dates = sorted({r.data_date for r in index.records})
        return render(request, "procedures.html", query=query, hits=hits, record=record, total=len(index.records),
                      commune_count=sum(1 for r in index.records if r.commune_level), dates=dates,
                      display_name=display_name)

    @app.get("/funnel", response_class=HTMLResponse)
    def funnel(request: Request, user: StaffUser, month: str = "") -> Response:
        messages: list[str] = []
        period = _period_or_default(month, messages)
        runs = runs_started_in(walkthrough_runs(store.analytics(period.since, period.until + 86400)), period)
        guides = funnels(runs)
        views = []
        for g in guides:
            chart = charts.bar_chart(
                f"Số lượt đi tới từng bước: {labels.topic(g.guide_id)}",
                [charts.Bar(f"Bước {s.step}", s.reached,
                            f"{s.reached} lượt; dừng {s.stopped}; kẹt {s.stuck}", None) for s in g.steps],
                maximum=max(1, g.started), label_width=90)
            views.append({"funnel": g, "chart": chart,
                          "steps": [(s, labels.step(g.guide_id, s.step)) for s in g.steps]})
        return render(request, "funnel.html", period=period, views=views, messages=messages,
                      choices=_period_choices(time.time()), started=len(runs),
                      finished=sum(r.finished for r in runs))

    @app.get("/reports", response_class=HTMLResponse)
    def reports(request: Request, user: StaffUser) -> Response:
        return render(request, "reports.html", choices=_period_choices(time.time()),
                      token=secrets.token_urlsafe(12))

    @app.get("/export")
    def export(request: Request, user: StaffUser, period: str = "", format: str = "xlsx",
               token: str = "") -> Response:
        try:
            chosen = parse_period(period)
        except ValueError:
            flash(request, "Kỳ báo cáo không hợp lệ.", "error")
            return RedirectResponse("/reports", status_code=303)
        fmt = format if format in ("xlsx", "csv") else "xlsx"
        report = build_report(chosen, store.feedback(chosen.since, chosen.until),
                              store.analytics(chosen.since, chosen.until + 86400),
                              store.handoffs(chosen.since, chosen.until + 7 * 86400))
        tables = exports.report_tables(report, settings.commune_name, labels.topic, labels.channel, labels.commune)
        if fmt == "csv":
            body, media = exports.to_csv(tables), "text/csv; charset=utf-8"
        else:
            body, media = exports.to_xlsx(tables), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{exports.filename(chosen.key, fmt)}"'})
        if TOKEN.match(token):
            # lets the export page hide its progress indicator once the file has arrived
            response.set_cookie(DOWNLOAD_COOKIE, token, max_age=120, path="/", samesite="lax",
                                secure=settings.https_only)
        logger.info("%s exported the %s report (%s)", user, chosen.key, fmt)
        return response

    return app
