# Sourced by the Makefile's local targets (make web, zalo-bot, zalo-oa, telegram, dashboard, demo-data): the .env
# file, then this machine's defaults for the two settings a deployment must give itself. The processes refuse to
# start without them; here, on a developer's machine, the local Redis and a key kept in .cache/ stand in.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
if [ -z "${FEEDBACK_ID_KEY:-}" ]; then
  [ -s .cache/feedback-id.key ] || { mkdir -p .cache; (umask 077; openssl rand -hex 32 > .cache/feedback-id.key); }
  FEEDBACK_ID_KEY=$(cat .cache/feedback-id.key)
  export FEEDBACK_ID_KEY
fi
