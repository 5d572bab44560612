# Sourced by redis.sh and sentinel.sh: the settings both read, and the question both ask the sentinels first.
# Every name and port comes from the environment, with the Kubernetes values as defaults, so
# tests/integration/test_k8s_sentinel_scripts.py runs these files on one machine.
set -euf
: "${REDIS_PASSWORD:?REDIS_PASSWORD is not set (the Secret tro-ly-secrets)}"
REDIS_PORT="${REDIS_PORT:-6379}"
SENTINEL_PORT="${SENTINEL_PORT:-26379}"
BIND="${BIND:-* -::*}"
CONF_DIR="${CONF_DIR:-/tmp}"
ANNOUNCE_HOST="${ANNOUNCE_HOST:-$HOSTNAME.redis-headless}"  # the pod's own DNS name: it outlives the pod's IP
MASTER_NAME="${MASTER_NAME:-tro-ly}"
MASTER_HOST="${MASTER_HOST:-redis-0.redis-headless}"  # the master on a first start
MASTER_PORT="${MASTER_PORT:-$REDIS_PORT}"
SENTINEL_HOST="${SENTINEL_HOST:-redis-sentinel}"  # the Service: any ready sentinel
SENTINEL_HOST_PORT="${SENTINEL_HOST_PORT:-$SENTINEL_PORT}"
SENTINEL_TRIES="${SENTINEL_TRIES:-3}"

# Prints "host port" of the master the sentinels name, or nothing when none answers (a first start).
current_master() {
  tries=0
  while [ "$tries" -lt "$SENTINEL_TRIES" ]; do
    reply=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli -h "$SENTINEL_HOST" -p "$SENTINEL_HOST_PORT" --raw \
      SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\n' ' ') || reply=""
    set -- $reply
    if [ "$#" -eq 2 ] && [ "$2" -eq "$2" ] 2>/dev/null; then
      echo "$1 $2"
      return 0
    fi
    tries=$((tries + 1))
    if [ "$tries" -lt "$SENTINEL_TRIES" ]; then sleep 1; fi
  done
  return 0
}
