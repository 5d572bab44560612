"""The HTML pages: the Jinja environment with its filters, rendering with the layout's context, and flash messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from dashboard import formatting
from dashboard.auth import csrf_token
from dashboard.labels import Labels

TEMPLATES = Path(__file__).resolve().parent / "templates"
NAV = [("/", "Tổng quan"), ("/feedback", "Phản hồi"), ("/gaps", "Câu hỏi chưa có hướng dẫn"),
       ("/funnel", "Hướng dẫn từng bước"), ("/procedures", "Tra cứu thủ tục"), ("/reports", "Xuất báo cáo")]


def environment(labels: Labels) -> Environment:
    """The Jinja environment (autoescaped) with the dashboard's number, date and label filters."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        percent=formatting.percent, number=formatting.number, duration=formatting.duration,
        datetime=formatting.date_time, day=formatting.day, topic=labels.topic, channel=labels.channel,
        commune=labels.commune, rating=lambda v: formatting.label(formatting.RATING_LABELS, v),
        kind=lambda v: formatting.label(formatting.KIND_LABELS, v),
        ack=lambda v: formatting.label(formatting.ACK_LABELS, v),
    )
    env.globals.update(topic_name=labels.topic, channel_name=labels.channel, commune_name_of=labels.commune)
    return env


class Pages:
    """Renders templates with what every page shows: the user, the CSRF token, flash messages, the menu."""

    def __init__(self, labels: Labels, commune_name: str) -> None:
        self.env = environment(labels)
        self.commune_name = commune_name

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """The rendered page (the flash messages it shows are taken off the session)."""
        session = request.session
        flashes = session.pop("flash", [])
        user = getattr(request.state, "user", None)  # looked up by the route: an error page never calls Redis
        user = user if isinstance(user, str) else None
        html = self.env.get_template(template).render(
            request=request, user=user, csrf=csrf_token(session), flashes=flashes, nav=NAV,
            path=request.url.path, commune_name=self.commune_name, **context)
        return HTMLResponse(html, status_code=status_code)


def flash(request: Request, message: str, level: str = "ok") -> None:
    """A message for the next page this session renders."""
    request.session.setdefault("flash", []).append([level, message])
