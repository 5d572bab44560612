# Staff dashboard (dashboard/): satisfaction figures, feedback acknowledgement, knowledge gaps, exports. A light image:
# FastAPI + Jinja + argon2 + openpyxl and the pure helpers it shares with the action server (the feedback and
# analytics stream formats, PII masking, guide and commune files for names) — not torch, Rasa or the retrieval index.
#
#   docker build -f docker/dashboard.Dockerfile -t tro-ly-dich-vu-cong/dashboard .      (from the repository root)
#
# Settings are read by dashboard/settings.py (see .env.example); docker-compose.yml passes them through.
FROM python:3.11-slim

# DASHBOARD_HOST: the app binds 127.0.0.1 by default; in a container it must listen on all interfaces (compose
# publishes the port on the host's 127.0.0.1 only). DASHBOARD_REQUIRE_SECRET: never fall back to a generated key.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DASHBOARD_HOST=0.0.0.0 \
    DASHBOARD_PORT=8080 \
    DASHBOARD_REQUIRE_SECRET=1

RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# the pins live in requirements/app.txt only
COPY requirements/app.txt requirements/app.lock requirements/
RUN pip install $(grep -E '^(fastapi|jinja2|uvicorn|python-multipart|itsdangerous|argon2-cffi|openpyxl|redis|PyYAML|pydantic-settings|prometheus-client|numpy)==' requirements/app.txt) -c requirements/app.lock

COPY common/ common/
COPY messages/ messages/
COPY procedures/ procedures/
COPY knowledge/ knowledge/
COPY communes/ communes/
COPY dashboard/ dashboard/

USER 1001:1001
EXPOSE 8080

CMD ["python", "-m", "dashboard", "serve"]
