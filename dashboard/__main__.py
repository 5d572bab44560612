"""The dashboard's command line.

    python -m dashboard [serve]                 start the dashboard (DASHBOARD_HOST:DASHBOARD_PORT, 127.0.0.1:8080)
    python -m dashboard adduser <username>      create a staff account (asks for the password, or DASHBOARD_PASSWORD)
    python -m dashboard purge                   delete comments older than FEEDBACK_RETENTION_DAYS (ratings stay)
    python -m dashboard demo-data [--replace]   fill Redis with a few months of synthetic data and a demo account
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from common.logs import setup_logging
from dashboard.auth import AuthError
from dashboard.demo import DemoError
from dashboard.settings import DashboardSettings, SettingsError


def _redis(settings: DashboardSettings) -> Any:
    """A Redis client that answers, or a clear error."""
    import redis

    from common.redis import connect, safe_url

    client = connect(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError as exc:  # never print the password part
        raise SettingsError(f"cannot reach Redis at {safe_url(settings.redis_url)}: {exc} "
                            "(set REDIS_URL; `redis-server` must run)") from exc
    return client


def serve(settings: DashboardSettings) -> None:
    """Run the web app with uvicorn."""
    import uvicorn

    from dashboard.app import create_app

    app = create_app(settings, _redis(settings))
    print(f"Bảng điều khiển: http://{settings.host}:{settings.port}/  (Ctrl+C để dừng)", flush=True)
    # log_config=None: uvicorn's lines go through common.logs (LOG_FORMAT, PII masked), not its own handlers
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False, log_config=None)


def adduser(settings: DashboardSettings, username: str, replace: bool) -> None:
    """Create a staff account; the password comes from DASHBOARD_PASSWORD or is asked for twice."""
    from dashboard.auth import MIN_PASSWORD_CHARS, Accounts, check_username

    name = check_username(username)
    password = os.environ.get("DASHBOARD_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise SettingsError("no terminal to ask for the password: set DASHBOARD_PASSWORD")
        password = getpass.getpass(f"Mật khẩu cho {name} (ít nhất {MIN_PASSWORD_CHARS} ký tự): ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            raise SettingsError("the two passwords differ")
    Accounts(_redis(settings)).add(name, password, replace=replace)
    print(f"Đã {'đặt lại mật khẩu cho' if replace else 'tạo'} tài khoản cán bộ: {name}")


def purge(settings: DashboardSettings) -> None:
    """Delete comment keys older than the retention; cap the expiry of the others."""
    from dashboard.store import purge_comments

    result = purge_comments(_redis(settings), settings.retention_days)
    print(f"Retention {settings.retention_days} days: deleted {result.deleted} comments, shortened the expiry of "
          f"{result.shortened}, kept {result.kept}. Ratings and other stream entries are kept.")


def demo_data(settings: DashboardSettings, replace: bool, months: int) -> None:
    """Write synthetic data and the demo account."""
    from dashboard.demo import DEMO_PASSWORD, DEMO_USER, generate

    summary = generate(_redis(settings), months=months, replace=replace, retention_days=settings.retention_days)
    print(f"Demo data since {summary.since:%d/%m/%Y}: {summary.feedback} feedback entries ({summary.comments} "
          f"comments, {summary.acknowledged} acknowledged), {summary.analytics} analytics entries, "
          f"{summary.handoffs} handoff events.")
    print(f"Demo staff account: {DEMO_USER} / {DEMO_PASSWORD}   ->  make dashboard, then "
          f"http://{settings.host}:{settings.port}/")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a command; 2 on a settings error."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Staff dashboard of the assistant.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="start the dashboard (the default)")
    add = sub.add_parser("adduser", help="create a staff account")
    add.add_argument("username")
    add.add_argument("--replace", action="store_true", help="reset the password of an existing account")
    sub.add_parser("purge", help="delete comments older than FEEDBACK_RETENTION_DAYS")
    demo = sub.add_parser("demo-data", help="fill Redis with synthetic data and a demo account")
    demo.add_argument("--replace", action="store_true", help="delete existing feedback/analytics data first")
    demo.add_argument("--months", type=int, default=11, help="previous months to simulate (default 11)")
    args = parser.parse_args(argv)
    try:
        settings = DashboardSettings.from_env()
    except SettingsError as exc:
        print(f"Dashboard: cannot start, bad settings: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_format, replica=settings.replica)
    try:
        if args.command in (None, "serve"):
            serve(settings)
        elif args.command == "adduser":
            adduser(settings, args.username, args.replace)
        elif args.command == "purge":
            purge(settings)
        elif args.command == "demo-data":
            demo_data(settings, args.replace, max(0, min(args.months, 24)))
    except (SettingsError, AuthError, DemoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
