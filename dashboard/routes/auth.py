"""Staff login and logout: the login page, the login limits' refusals, a fresh session after login."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dashboard.auth import MAX_FAILURES, Limit
from dashboard.pages import flash
from dashboard.routes.deps import AccountsDep, CheckedForm, PagesDep, SettingsDep, StaffUser, current_user
from dashboard.routes.params import safe_next

logger = logging.getLogger(__name__)

router = APIRouter()

REFUSED = {  # what a staff member reads when a login limit refuses the attempt (HTTP 429)
    Limit.USER_AT_ADDRESS: f"Bạn đã đăng nhập sai quá {MAX_FAILURES} lần. Vui lòng đợi 15 phút rồi thử lại, hoặc nhờ "
                           "người quản trị đặt lại mật khẩu.",
    Limit.USER: "Tài khoản này đang tạm khoá vì có quá nhiều lần đăng nhập sai. Vui lòng đợi 15 phút rồi thử lại, "
                "hoặc nhờ người quản trị đặt lại mật khẩu.",
    Limit.ADDRESS: "Có quá nhiều lần đăng nhập sai từ máy này. Vui lòng đợi 15 phút rồi thử lại.",
}


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


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, pages: PagesDep, next: str = "/") -> Response:
    """The login form (a staff member already logged in goes straight on)."""
    if current_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return pages.render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: CheckedForm, accounts: AccountsDep, settings: SettingsDep,
          pages: PagesDep) -> Response:
    """Check the password under the login limits; on success start a fresh session and go on."""
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    address = client_address(request, settings.trust_forwarded)
    result = accounts.login(username, password, address)
    if not result.ok:
        if result.limit is not None:
            logger.warning("Login refused (%s limit) for %r from %s", result.limit.value, username[:64], address)
            error, status = REFUSED[result.limit], 429
        else:
            error, status = "Tên đăng nhập hoặc mật khẩu không đúng.", 401
        return pages.render(request, "login.html", status, next=target, error=error, username=username)
    accounts.end_session(request.session.get("sid"))  # whatever this browser had before is over
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["sid"] = accounts.start_session(result.user)  # the only thing the cookie says about the user
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, user: StaffUser, form: CheckedForm, accounts: AccountsDep) -> Response:
    """End the session in Redis and in the cookie."""
    accounts.end_session(request.session.get("sid"))  # the old cookie, replayed, finds no session
    request.session.clear()
    flash(request, "Bạn đã đăng xuất.")
    return RedirectResponse("/login", status_code=303)
