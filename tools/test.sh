#!/usr/bin/env bash
# The whole test suite (what `make test` and .ci/run run): data validation, Rasa-side unit tests, conversation
# tests on the trained model, then our unit and integration tests (real Redis, real Rasa through REST).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$(pwd)" OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "==> No Redis on 127.0.0.1:6379: starting one for the tests"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "==> rasa data validate"
.venv/rasa/bin/rasa data validate --data data --domain domain.yml --config config.yml --quiet

echo "==> Rasa-side unit tests (Python 3.10)"
.venv/rasa/bin/python -m pytest tests/rasa_addons -q -p no:cacheprovider

echo "==> Conversation tests (tests/stories on the trained model)"
rm -rf results/stories
.venv/rasa/bin/rasa test core --model models/assistant.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --e2e --out results/stories --quiet

echo "==> Unit and integration tests (Python 3.11)"
.venv/app/bin/python -m pytest tests --ignore=tests/rasa_addons -q -p no:cacheprovider

echo "==> Fault run, short form (tools/chaos.py --short: processes killed while residents talk)"
.venv/app/bin/python tools/chaos.py --short --seed 1

echo "==> Fuzz run, short form (tools/fuzz.py: hostile messages through REST and every gateway)"
.venv/app/bin/python tools/fuzz.py --messages 600 --seed 1
