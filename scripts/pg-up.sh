#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the PostgreSQL catalog (lib/catalog/postgres.ts): Debian's
# binaries (/usr/lib/postgresql/<newest>/bin), data in DIR/data, listening on 127.0.0.1:PORT only, its Unix
# socket in DIR/sock, trust authentication for the role `shardvault` (loopback only: a test and bench
# cluster, not a production setup). The first run creates the cluster (UTF-8, C locale) and the database
# `shardvault`; a later run on the same DIR starts the existing cluster again (after a crash it recovers from
# its WAL). PostgreSQL refuses to run as root, so as root the cluster belongs to and runs as `postgres`.
# Prints the connection URL on stdout; the postmaster's pid is the first line of DIR/data/postmaster.pid,
# which scripts/pg-down.sh uses.
#   usage: scripts/pg-up.sh DIR PORT
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 DIR PORT" >&2; exit 2; fi
dir=$1
port=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then echo "no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; fi
mkdir -p "$dir/sock"
dir=$(cd "$dir" && pwd)
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir" "$dir/sock"
  as_owner test -w "$dir" || { echo "$dir is not reachable for the postgres user: a parent directory is closed to it (mkdtemp makes 0700 directories: use one as DIR itself)" >&2; exit 1; }
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U shardvault -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
fi
# fsync and synchronous_commit keep initdb's defaults (on), which the catalog requires (I5). They are not
# forced on the command line, where they would override ALTER SYSTEM: test/catalog-postgres.test.ts turns
# fsync off that way to see the catalog refuse it.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock" start >/dev/null \
  || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
# Checked rather than remembered: a first start that failed (a port in use) leaves a cluster without it.
if [ "$(as_owner "$bin/psql" -h "$dir/sock" -p "$port" -U shardvault -d postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = 'shardvault'")" != 1 ]; then
  as_owner "$bin/createdb" -h "$dir/sock" -p "$port" -U shardvault shardvault
fi
echo "postgresql://shardvault@127.0.0.1:$port/shardvault"
