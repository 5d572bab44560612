# Channel gateways (bot/): the web widget, Zalo OA, Zalo Bot and Telegram, one image for all four; each compose
# service picks its process with `command:`. A light image: aiohttp, redis, httpx and the two channel SDKs, plus the
# shared layer every process imports (common/: records, Redis client, settings, PII masking) and the procedure
# catalogue (Telegram's /tt) — not actions/, torch or the retrieval index.
#
#   docker build -f docker/gateway.Dockerfile -t tro-ly-dich-vu-cong/gateway .      (from the repository root)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    GATEWAY_HOST=0.0.0.0

RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# the pins live in requirements/app.txt only
COPY requirements/app.txt requirements/app.lock requirements/
RUN pip install $(grep -E '^(aiohttp|redis|httpx|python-zalo-bot|python-telegram-bot|PyYAML|pydantic-settings|prometheus-client|numpy)(\[[a-z-]+\])?==' requirements/app.txt) -c requirements/app.lock

COPY common/ common/
COPY messages/ messages/
COPY procedures/ procedures/
COPY knowledge/procedures/ knowledge/procedures/
COPY bot/ bot/

USER 1001:1001
EXPOSE 8081 8082 8083 8084

CMD ["python", "-m", "bot.web"]
