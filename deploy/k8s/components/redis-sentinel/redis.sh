#!/bin/sh
# One redis-server of the Sentinel set: a replica of the master the sentinels name. Asking them first keeps a
# restarted old master from taking writes beside the replica promoted in its place; only when no sentinel answers
# (a first start) is pod 0 the master and the others its replicas.
. "$(dirname "$0")/common.sh"
DATA_DIR="${DATA_DIR:-/data}"
POD_ORDINAL="${POD_ORDINAL:-${HOSTNAME##*-}}"

master=$(current_master)
if [ -z "$master" ] && [ "$POD_ORDINAL" != 0 ]; then
  master="$MASTER_HOST $MASTER_PORT"
fi
if [ "$master" = "$ANNOUNCE_HOST $REDIS_PORT" ]; then
  master=""  # the sentinels still name this server: no failover happened while it was down
fi

umask 077
mkdir -p "$CONF_DIR" "$DATA_DIR"
{
  printf '%s\n' "port $REDIS_PORT"
  printf '%s\n' "bind $BIND"
  printf '%s\n' "dir $DATA_DIR"
  printf '%s\n' "requirepass $REDIS_PASSWORD"
  printf '%s\n' "masterauth $REDIS_PASSWORD"
  printf '%s\n' "appendonly yes"
  printf '%s\n' "appendfsync everysec"
  printf '%s\n' "replica-announce-ip $ANNOUNCE_HOST"
  if [ -n "$master" ]; then printf '%s\n' "replicaof $master"; fi
} > "$CONF_DIR/redis.conf"
echo "redis.sh: starting as ${master:+a replica of }${master:-master}"
exec redis-server "$CONF_DIR/redis.conf"
