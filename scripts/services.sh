#!/usr/bin/env bash
# Make sure PostgreSQL (with PostGIS available) and Redis run, for `make test`. Loud on failure.
set -euo pipefail
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  say "Starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [[ -n "$ver" ]] || die "PostgreSQL is not installed and not reachable at $PGHOST:$PGPORT"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || die "could not start PostgreSQL $ver"
  for _ in $(seq 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
  pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL did not come up on $PGHOST:$PGPORT"
fi

# A scratch database proves CREATE EXTENSION postgis works before the suite tries it.
psql -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='civicgrid_preflight'" | grep -q 1 \
  || psql -q -d postgres -c "CREATE DATABASE civicgrid_preflight" >/dev/null
psql -q -d civicgrid_preflight -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null \
  || die "CREATE EXTENSION postgis failed: is postgresql-15-postgis-3 installed for this server?"
psql -q -d civicgrid_preflight -tAc "SELECT postgis_lib_version()" | sed 's/^/    PostGIS /'

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  say "Starting Redis"
  command -v redis-server >/dev/null || die "Redis is not running on 127.0.0.1:6379 and redis-server is not installed"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/civicgrid.log
  for _ in $(seq 20); do redis-cli ping 2>/dev/null | grep -q PONG && break; sleep 0.5; done
  redis-cli ping | grep -q PONG || die "Redis did not come up on 127.0.0.1:6379"
fi
echo "    Redis $(redis-cli info server | grep redis_version | cut -d: -f2 | tr -d '\r')"
