"""What wraps every route: the security headers, the redirect to /login, and the error pages."""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import quote

import redis as redis_lib
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.routes.deps import BadForm, LoginRequired, current_user, get_pages

logger = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


async def security_headers(request: Request, call_next: Any) -> Response:
    """Add the CSP and the other security headers; nothing but /static may be cached."""
    response: Response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def to_login(request: Request, exc: LoginRequired) -> Response:
    """No live session: to /login, coming back to the page asked for afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def bad_form(request: Request, exc: BadForm) -> Response:
    """A POST without the session's CSRF token: 403."""
    return get_pages(request).render(
        request, "error.html", 403, title="Biểu mẫu đã hết hạn",
        message="Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại.")


async def redis_down(request: Request, exc: redis_lib.RedisError) -> Response:
    """Redis cannot be read: 503 with a page saying so."""
    logger.error("Redis error: %s", exc)
    request.app.state.metrics.redis_error()
    return get_pages(request).render(
        request, "error.html", 503, title="Tạm thời không đọc được dữ liệu",
        message="Bảng điều khiển không kết nối được cơ sở dữ liệu (Redis). Vui lòng thử lại sau ít "
                "phút hoặc báo cho người quản trị hệ thống.")


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """404, 405 and the other HTTP errors as a dashboard page."""
    message = {404: "Không tìm thấy trang này.", 405: "Thao tác này không được hỗ trợ."}.get(
        exc.status_code, "Yêu cầu không hợp lệ.")
    with contextlib.suppress(redis_lib.RedisError):
        current_user(request)  # a logged-in staff member keeps the menu on an error page
    return get_pages(request).render(request, "error.html", exc.status_code, title=message, message=message)
