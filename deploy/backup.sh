#!/usr/bin/env bash
# Back up CivicGrid: the database (pg_dump, custom format) and the uploaded files (MEDIA_ROOT).
#
#   deploy/backup.sh [--env-file /etc/civicgrid/civicgrid.env]
#
# Reads DATABASE_URL (postgis://user:pw@host:port/db), MEDIA_ROOT (default <checkout>/var/media),
# BACKUP_DIR (default /var/backups/civicgrid) and BACKUP_KEEP_DAYS (default 14) from the
# environment or the env file. Writes, with one UTC timestamp:
#
#   BACKUP_DIR/civicgrid-db-<db>-YYYYmmddTHHMMSSZ.dump       pg_restore-able archive
#   BACKUP_DIR/civicgrid-media-YYYYmmddTHHMMSSZ.tar.gz      MEDIA_ROOT's contents
#
# prints the two paths, then deletes backups older than BACKUP_KEEP_DAYS. A failed run leaves no
# file that looks like a backup (they are written under a temporary name and renamed at the end).
set -euo pipefail
umask 077

die() { printf 'backup.sh: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'backup.sh: %s\n' "$*" >&2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"

while (($#)); do
  case "$1" in
    --env-file) [[ $# -ge 2 ]] || die "--env-file needs a file"; load_env_file "$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

PG_URI=$(libpq_uri "${DATABASE_URL:-}" 2>&1) || die "$PG_URI"
MEDIA_ROOT=${MEDIA_ROOT:-$HERE/../var/media}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/civicgrid}
BACKUP_KEEP_DAYS=${BACKUP_KEEP_DAYS:-14}
[[ $BACKUP_KEEP_DAYS =~ ^[0-9]+$ && $BACKUP_KEEP_DAYS -ge 1 ]] \
  || die "BACKUP_KEEP_DAYS must be a whole number of days >= 1 (got '$BACKUP_KEEP_DAYS')"
[[ -d $MEDIA_ROOT ]] || die "MEDIA_ROOT $MEDIA_ROOT is not a directory"
for tool in pg_dump pg_restore tar flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install postgresql-client)"
done

mkdir -p "$BACKUP_DIR"
# One backup at a time (a slow run must not overlap the next night's).
exec 9>"$BACKUP_DIR/.backup.lock"
flock -n 9 || die "another backup is running in $BACKUP_DIR"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
db_name=$(pg_database_name "$PG_URI")
dump="$BACKUP_DIR/civicgrid-db-$db_name-$stamp.dump"
media="$BACKUP_DIR/civicgrid-media-$stamp.tar.gz"
trap 'rm -f "$dump.partial" "$media.partial"' EXIT

log "dumping database $db_name"
# Custom format: compressed, restorable table by table, and pg_restore can --clean with it.
pg_dump --dbname="$PG_URI" --format=custom --compress=6 --no-password --file="$dump.partial"
# An archive pg_restore cannot read is no backup: list its table of contents once.
pg_restore --list "$dump.partial" >/dev/null || die "the dump $dump.partial is not readable"

log "archiving $MEDIA_ROOT"
tar --create --gzip --file="$media.partial" --directory="$MEDIA_ROOT" .

mv "$dump.partial" "$dump"
mv "$media.partial" "$media"
trap - EXIT
printf '%s\n%s\n' "$dump" "$media"

# Retention: only our own file names, only in BACKUP_DIR itself.
find "$BACKUP_DIR" -maxdepth 1 -type f \
  \( -name 'civicgrid-db-*.dump' -o -name 'civicgrid-media-*.tar.gz' \) \
  -mmin +$((BACKUP_KEEP_DAYS * 24 * 60)) -print -delete | sed 's/^/backup.sh: removed old /' >&2
log "done"
