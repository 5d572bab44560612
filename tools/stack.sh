#!/usr/bin/env bash
# Set up, train, start and stop the assistant's processes. Called by the Makefile; see `make help`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=${RUN_DIR:-$ROOT/.run}; mkdir -p "$RUN"
RASA_VENV="$ROOT/.venv/rasa"; APP_VENV="$ROOT/.venv/app"
RASA_PORT=${RASA_PORT:-5005}; ACTIONS_PORT=${ACTIONS_PORT:-5055}
MODEL=${MODEL:-models/assistant.tar.gz}
RASA_CONFIG=${RASA_CONFIG:-config.yml}

if [ -f .env ]; then set -a; . ./.env; set +a; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

find_python() {  # find_python 3.10 → a python3.10 executable
  local v=$1 cand
  # pyenv's shims exist for every version but fail unless that version is selected: try real binaries first
  for cand in $(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$v".*/bin/python"$v" 2>/dev/null) \
              /usr/bin/python"$v" /usr/local/bin/python"$v" "python$v"; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys' >/dev/null 2>&1; then
      command -v "$cand"; return 0
    fi
  done
  echo "Python $v not found: install it (e.g. pyenv install $v) and retry." >&2; return 1
}

stamp_ok() {  # stamp_ok NAME FILES... : true when the files have not changed since the stamp was written
  local name=$1; shift
  [ -f "$ROOT/.run/$name.stamp" ] && [ "$(cat "$@" | sha256sum | cut -c1-16)" = "$(cat "$ROOT/.run/$name.stamp")" ]
}
stamp_write() { local name=$1; shift; cat "$@" | sha256sum | cut -c1-16 > "$ROOT/.run/$name.stamp"; }

setup() {
  # every install is constrained by the environment's lock (requirements/*.lock, `make lock`): the same versions of
  # every transitive package on every machine and in every image
  if ! stamp_ok venv-rasa requirements/rasa.txt requirements/rasa-dev.txt requirements/rasa.lock \
      || [ ! -x "$RASA_VENV/bin/rasa" ]; then
    log "Creating the Rasa venv (Python 3.10, ~3 min the first time)"
    "$(find_python 3.10)" -m venv "$RASA_VENV"
    "$RASA_VENV/bin/pip" install -q --upgrade pip
    "$RASA_VENV/bin/pip" install -q -r requirements/rasa.txt -r requirements/rasa-dev.txt -c requirements/rasa.lock
    stamp_write venv-rasa requirements/rasa.txt requirements/rasa-dev.txt requirements/rasa.lock
  fi
  if ! stamp_ok venv-app requirements/app.txt requirements/dev.txt requirements/app.lock \
      || [ ! -x "$APP_VENV/bin/python" ]; then
    log "Creating the app venv (Python 3.11: actions, retrieval, tests)"
    "$(find_python 3.11)" -m venv "$APP_VENV"
    "$APP_VENV/bin/pip" install -q --upgrade pip
    # torch first and alone: 2.13.0 is the local CPU wheel; letting a resolver pick torch pulls CUDA builds
    "$APP_VENV/bin/pip" install -q "$(grep -E '^torch==' requirements/app.txt)" -c requirements/app.lock
    "$APP_VENV/bin/pip" install -q -r requirements/app.txt -r requirements/dev.txt -c requirements/app.lock
    stamp_write venv-app requirements/app.txt requirements/dev.txt requirements/app.lock
  fi
  if [ "${EMBEDDING_BACKEND:-sentence-transformers}" = "sentence-transformers" ] && [ -z "${EMBEDDING_MODEL:-}" ]; then
    "$APP_VENV/bin/python" tools/build_e5_model.py --out .cache/models/multilingual-e5-small-q4
  fi
}

lock() {  # resolve both environments afresh from requirements/*.txt and write the exact versions to requirements/*.lock
  local dir; dir=$(mktemp -d)
  "$(find_python 3.10)" -m venv "$dir/rasa" && "$dir/rasa/bin/pip" install -q --upgrade pip
  "$dir/rasa/bin/pip" install -q -r requirements/rasa.txt -r requirements/rasa-dev.txt
  "$(find_python 3.11)" -m venv "$dir/app" && "$dir/app/bin/pip" install -q --upgrade pip
  "$dir/app/bin/pip" install -q "$(grep -E '^torch==' requirements/app.txt)"
  "$dir/app/bin/pip" install -q -r requirements/app.txt -r requirements/dev.txt
  for env in rasa app; do
    { sed -n '1,2p' "requirements/$env.lock"; "$dir/$env/bin/pip" freeze | sort -f; } > "$dir/$env.lock"
    mv "$dir/$env.lock" "requirements/$env.lock"
  done
  rm -rf "$dir"
  log "Wrote requirements/rasa.lock and requirements/app.lock; the venvs are rebuilt from them on the next make setup"
}

index() { "$APP_VENV/bin/python" -m actions.retrieval; }

train_inputs() { find "$RASA_CONFIG" domain.yml data rasa_addons common/__init__.py common/text.py requirements/rasa.txt -type f -name '*.*' | sort; }

train() {
  local key; key=$(train_inputs | xargs cat | sha256sum | cut -c1-16)
  if [ -f "$MODEL" ] && [ "$(cat "$MODEL.fingerprint" 2>/dev/null)" = "$key" ]; then
    log "Model $MODEL is up to date"; return 0
  fi
  log "Training $MODEL from $RASA_CONFIG"
  mkdir -p "$(dirname "$MODEL")"
  "$RASA_VENV/bin/rasa" train --config "$RASA_CONFIG" --domain domain.yml --data data \
    --out "$(dirname "$MODEL")" --fixed-model-name "$(basename "$MODEL" .tar.gz)" --quiet >"$RUN/train.log" 2>&1 \
    || { tail -n 30 "$RUN/train.log" >&2; exit 1; }
  echo "$key" > "$MODEL.fingerprint"
}

build() {  # train and index side by side: the index embeds on one thread, Rasa's training takes the other core
  local trainer
  train & trainer=$!
  if ! index; then wait "$trainer" || true; exit 1; fi
  wait "$trainer"
}

pid_alive() {  # pid_alive PIDFILE PATTERN: true when the pid file names a live (not zombie) process running PATTERN
  local pid state
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  # after kill -9 the process lingers as a zombie until reaped, and a pid can be reused by another program
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  case "$state" in Z|X|x) return 1 ;; esac
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port_free() {  # wait_port_free PORT SECONDS: a killed server's port can take a moment to be released
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_free "$1" && return 0; sleep 0.1; done
  echo "port $1 on 127.0.0.1 is still in use by another program" >&2; return 1
}

wait_http() {  # wait_http URL SECONDS
  local url=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    if curl -fsS -m 1 "$url" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

serve() {
  export ACTION_ENDPOINT_URL="http://127.0.0.1:$ACTIONS_PORT/webhook"
  export TRACKER_STORE_URL=${REDIS_URL:-memory://} LOCK_STORE_URL=${LOCK_STORE_URL:-${REDIS_URL:-memory://}}
  # the terminal demo keeps feedback and analytics in the action server's memory (REDIS_URL=memory://); with a real
  # Redis the pseudonym key is required: on this machine one is kept in .cache/ unless FEEDBACK_ID_KEY is set
  export REDIS_URL=${REDIS_URL:-memory://}
  if [ "$REDIS_URL" != "memory://" ] && [ -z "${FEEDBACK_ID_KEY:-}" ]; then
    [ -s .cache/feedback-id.key ] || { mkdir -p .cache; (umask 077; openssl rand -hex 32 > .cache/feedback-id.key); }
    FEEDBACK_ID_KEY=$(cat .cache/feedback-id.key); export FEEDBACK_ID_KEY
  fi
  if ! pid_alive "$RUN/actions.pid" actions.server; then
    rm -f "$RUN/actions.pid"
    wait_port_free "$ACTIONS_PORT" 10 || exit 1
    SANIC_HOST=127.0.0.1 nohup "$APP_VENV/bin/python" -m actions.server --port "$ACTIONS_PORT" \
      >"$RUN/actions.log" 2>&1 & echo $! >"$RUN/actions.pid"
  fi
  if ! pid_alive "$RUN/rasa.pid" "rasa_addons run"; then
    rm -f "$RUN/rasa.pid"
    wait_port_free "$RASA_PORT" 10 || exit 1
    # Rasa's command line through rasa_addons, which leaves TensorFlow out (~430 MB; rasa_addons/without_tensorflow.py)
    RASA_WITHOUT_TENSORFLOW=${RASA_WITHOUT_TENSORFLOW:-1} nohup "$RASA_VENV/bin/python" -m rasa_addons run -i 127.0.0.1 -p "$RASA_PORT" --model "$MODEL" --endpoints endpoints.yml \
      --credentials credentials.yml >"$RUN/rasa.log" 2>&1 & echo $! >"$RUN/rasa.pid"
  fi
  wait_http "http://127.0.0.1:$ACTIONS_PORT/health" 60 || { tail -n 20 "$RUN/actions.log" >&2; echo "action server did not start" >&2; exit 1; }
  wait_http "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 120 || { tail -n 20 "$RUN/rasa.log" >&2; echo "Rasa did not start" >&2; exit 1; }
  # first message loads the model and the retrieval index; answer it before returning
  curl -fsS -m 120 -X POST "http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook" -H 'content-type: application/json' \
    -d '{"sender": "warmup", "message": "kích hoạt vneid"}' >/dev/null || { echo "warm-up message failed" >&2; exit 1; }
  log "Assistant is up: REST webhook http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook (logs in .run/)"
}

stop() {
  local name pattern pid i
  for name in rasa actions; do
    pattern=$([ "$name" = rasa ] && echo "rasa_addons run" || echo actions.server)
    if pid_alive "$RUN/$name.pid" "$pattern"; then
      pid=$(cat "$RUN/$name.pid")
      kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do pid_alive "$RUN/$name.pid" "$pattern" || break; sleep 0.1; done
      pid_alive "$RUN/$name.pid" "$pattern" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
  log "Stopped"
}

case "${1:-}" in
  setup) setup ;;
  lock) lock ;;
  index) index ;;
  train) train ;;
  build) build ;;
  serve) serve ;;
  stop) stop ;;
  *) echo "usage: $0 setup|lock|index|train|serve|stop" >&2; exit 2 ;;
esac
