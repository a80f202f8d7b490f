#!/usr/bin/env bash
# Restore a CivicGrid backup made by deploy/backup.sh.
#
#   deploy/restore.sh [--env-file FILE] [--yes] BACKUP_FILE [MEDIA_TAR]
#
# BACKUP_FILE (civicgrid-db-*.dump) is restored into the database of DATABASE_URL; the database is
# created when it does not exist (the URL's user needs CREATEDB for that) and the postgis
# extension is created first, so a fresh, empty database works. Objects in the backup replace
# their namesakes (pg_restore --clean --if-exists) in ONE transaction: on any error nothing
# changes. Restoring over a database that already holds tables asks for --yes.
# MEDIA_TAR (civicgrid-media-*.tar.gz) is unpacked into MEDIA_ROOT (default <checkout>/var/media).
#
# Stop civicgrid-web, -worker and -beat first; afterwards run `manage.py migrate` (a backup older
# than the code lacks the newer migrations) and start them again.
set -euo pipefail

die() { printf 'restore.sh: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'restore.sh: %s\n' "$*" >&2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

YES=0
args=()
while (($#)); do
  case "$1" in
    --env-file) [[ $# -ge 2 ]] || die "--env-file needs a file"; load_env_file "$2"; shift 2 ;;
    --yes) YES=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} >= 1 && ${#args[@]} <= 2)) || die "usage: restore.sh [--env-file FILE] [--yes] BACKUP_FILE [MEDIA_TAR]"
DUMP=${args[0]}
MEDIA_TAR=${args[1]:-}
[[ -r $DUMP ]] || die "cannot read $DUMP"
[[ -z $MEDIA_TAR || -r $MEDIA_TAR ]] || die "cannot read $MEDIA_TAR"
for tool in psql pg_restore tar; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install postgresql-client)"
done

PG_URI=$(libpq_uri "${DATABASE_URL:-}" 2>&1) || die "$PG_URI"
DB_NAME=$(pg_database_name "$PG_URI")
MAINT_URI=$(pg_maintenance_uri "$PG_URI")
psql_q() { psql --no-psqlrc --no-password --quiet --set ON_ERROR_STOP=1 "$@"; }

pg_restore --list "$DUMP" >/dev/null 2>&1 || die "$DUMP is not a pg_dump custom-format archive"

# 1. The database: created when missing.
exists=$(psql_q --dbname="$MAINT_URI" --tuples-only --no-align --set db="$DB_NAME" \
  <<<"SELECT count(*) FROM pg_database WHERE datname = :'db';") \
  || die "cannot connect to the server of DATABASE_URL"
if [[ $exists == 0 ]]; then
  log "creating database $DB_NAME"
  # template0: a clean database, as pg_restore wants (template1 may hold local additions).
  psql_q --dbname="$MAINT_URI" --set db="$DB_NAME" <<<"CREATE DATABASE :\"db\" TEMPLATE template0 ENCODING 'UTF8';"
fi

# 2. PostGIS, before the tables that use its types (the extension itself is not restored from
#    the archive: creating it may need rights the application's user does not have).
psql_q --dbname="$PG_URI" <<<'CREATE EXTENSION IF NOT EXISTS postgis;'

# 3. Replacing existing data needs a yes.
tables=$(psql_q --dbname="$PG_URI" --tuples-only --no-align <<<"
  SELECT count(*) FROM pg_tables
  WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys';")
if [[ $tables != 0 && $YES != 1 ]]; then
  die "database $DB_NAME already holds $tables tables: their contents would be replaced by the
  backup. Run again with --yes to do that."
fi

# 4. The archive minus the postgis extension entries, in one transaction.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
pg_restore --list "$DUMP" \
  | grep -Ev '^[0-9]+; [0-9]+ [0-9]+ (EXTENSION - postgis|COMMENT - EXTENSION postgis)( |$)' >"$list"
log "restoring $DUMP into $DB_NAME"
pg_restore --dbname="$PG_URI" --no-password --clean --if-exists --no-owner --no-privileges \
  --single-transaction --exit-on-error --use-list="$list" "$DUMP"
# Planner statistics are not part of a dump.
psql_q --dbname="$PG_URI" <<<'ANALYZE;'

# 5. Media.
if [[ -n $MEDIA_TAR ]]; then
  MEDIA_ROOT=${MEDIA_ROOT:-$HERE/../var/media}
  mkdir -p "$MEDIA_ROOT"
  log "unpacking $MEDIA_TAR into $MEDIA_ROOT"
  tar --extract --gzip --file="$MEDIA_TAR" --directory="$MEDIA_ROOT" --no-same-owner
fi
log "done: now run 'manage.py migrate' and start the services again"
