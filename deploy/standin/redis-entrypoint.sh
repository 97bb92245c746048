#!/bin/sh
# The official redis image's start-up: the server runs as the redis user, owns /data, and
# answers other containers (protected mode off: the container network is the boundary).
set -eu

if [ "${1#-}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis .
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = redis-server ]; then
  set -- "$@" --protected-mode no
fi

exec "$@"
