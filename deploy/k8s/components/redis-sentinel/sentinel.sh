#!/bin/sh
# The sentinel beside each redis-server: it monitors the master the other sentinels name (pod 0's on a first
# start) and finds the replicas and the other sentinels through it, all by hostname.
. "$(dirname "$0")/common.sh"
QUORUM="${QUORUM:-2}"
DOWN_AFTER_MS="${DOWN_AFTER_MS:-5000}"
FAILOVER_TIMEOUT_MS="${FAILOVER_TIMEOUT_MS:-60000}"

master=$(current_master)
master="${master:-$MASTER_HOST $MASTER_PORT}"

# Sentinel rewrites this file as it learns (replicas, other sentinels, epochs); it is written afresh at each start.
umask 077
mkdir -p "$CONF_DIR"
{
  printf '%s\n' "port $SENTINEL_PORT"
  printf '%s\n' "bind $BIND"
  printf '%s\n' "dir $CONF_DIR"
  printf '%s\n' "sentinel resolve-hostnames yes"
  printf '%s\n' "sentinel announce-hostnames yes"
  printf '%s\n' "sentinel announce-ip $ANNOUNCE_HOST"
  printf '%s\n' "sentinel monitor $MASTER_NAME $master $QUORUM"
  printf '%s\n' "requirepass $REDIS_PASSWORD"
  printf '%s\n' "sentinel sentinel-pass $REDIS_PASSWORD"
  printf '%s\n' "sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD"
  printf '%s\n' "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS"
  printf '%s\n' "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS"
  printf '%s\n' "sentinel parallel-syncs $MASTER_NAME 1"
} > "$CONF_DIR/sentinel.conf"
echo "sentinel.sh: monitoring $master"
exec redis-server "$CONF_DIR/sentinel.conf" --sentinel
