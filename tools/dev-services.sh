#!/usr/bin/env bash
# Makes sure NATS (with JetStream) and PostgreSQL answer on 127.0.0.1:4222 and 127.0.0.1:5432:
# leaves running servers alone, otherwise installs the Debian packages if missing and starts them.
# The PostgreSQL it starts trusts local connections (a development server) and has a `test` database.
set -euo pipefail

NATS_PORT=${CHAINLAKE_DEV_NATS_PORT:-4222}
PG_PORT=${CHAINLAKE_DEV_PG_PORT:-5432}
STATE_DIR=${CHAINLAKE_DEV_STATE_DIR:-/var/lib/chainlake-dev}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
wait_for() {
  for _ in $(seq 1 60); do listening "$1" && return 0; sleep 0.5; done
  echo "dev-services: nothing is listening on 127.0.0.1:$1 after 30 s ($2)" >&2
  exit 1
}

apt_updated=
need_package() {
  dpkg -s "$1" >/dev/null 2>&1 && return 0
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

if listening "$NATS_PORT"; then
  echo "dev-services: NATS already on 127.0.0.1:$NATS_PORT"
else
  need_package nats-server
  as_root mkdir -p "$STATE_DIR/nats"
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$STATE_DIR/nats-$NATS_PORT.pid" \
    --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE_DIR/nats" -l "$STATE_DIR/nats-server.log"
  wait_for "$NATS_PORT" "see $STATE_DIR/nats-server.log"
  echo "dev-services: started NATS with JetStream on 127.0.0.1:$NATS_PORT"
fi

if listening "$PG_PORT"; then
  echo "dev-services: PostgreSQL already on 127.0.0.1:$PG_PORT"
else
  need_package postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! as_root grep -q 'chainlake-dev' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # chainlake-dev\nhost all all ::1/128 trust # chainlake-dev\nlocal all all trust # chainlake-dev' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for "$PG_PORT" "see /var/log/postgresql/"
  echo "dev-services: started PostgreSQL $version on 127.0.0.1:$PG_PORT"
fi

if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc 'CREATE DATABASE test'
fi
