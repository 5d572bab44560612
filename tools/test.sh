#!/usr/bin/env bash
# The whole test suite (what `make test` and .ci/run run), cheapest first so a mistake fails in seconds: lint and
# types, unit tests (ours on 3.11, the Rasa add-ons on 3.10), data validation, conversation tests on the trained
# model, integration tests (real Redis, real Rasa through REST), then the short fault and fuzz runs.
# `tools/test.sh lint` runs only the first stage (`make lint`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$(pwd)" OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OURS=(actions bot common dashboard procedures)
stage() { printf '==> %s (%ss in)\n' "$1" "$SECONDS"; }  # each stage's start, so a slow CI run shows where it went

stage "Lint (ruff) and types (mypy)"
.venv/app/bin/ruff check "${OURS[@]}" rasa_addons tools tests
.venv/app/bin/mypy "${OURS[@]}"
[ "${1:-}" = lint ] && exit 0

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  stage "No Redis on 127.0.0.1:6379: starting one for the tests"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

stage "Unit tests (Python 3.11, offline)"
.venv/app/bin/python -m pytest tests --ignore=tests/rasa_addons -m "not integration" -q -p no:cacheprovider

stage "Rasa-side unit tests (Python 3.10)"
.venv/rasa/bin/python -m pytest tests/rasa_addons -q -p no:cacheprovider

stage "rasa data validate"
.venv/rasa/bin/rasa data validate --data data --domain domain.yml --config config.yml --quiet

stage "Conversation tests (tests/stories on the trained model)"
rm -rf results/stories
.venv/rasa/bin/rasa test core --model models/assistant.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --e2e --out results/stories --quiet

stage "Integration tests (Python 3.11: real Redis, a trained model through REST, real browsers)"
.venv/app/bin/python -m pytest tests --ignore=tests/rasa_addons -m integration -q -p no:cacheprovider

stage "Fault run, short form (tools/chaos.py --short: processes killed while residents talk)"
.venv/app/bin/python tools/chaos.py --short --seed 1

stage "Fuzz run, short form (tools/fuzz.py: hostile messages through REST and every gateway)"
.venv/app/bin/python tools/fuzz.py --messages 600 --seed 1
stage "Done"
