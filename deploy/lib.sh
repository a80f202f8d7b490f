# Helpers shared by deploy/backup.sh and deploy/restore.sh (sourced, not run).

# load_env_file FILE: export the KEY=value lines of a systemd EnvironmentFile (the format of
# deploy/production.env.example). Read as data, never executed; surrounding quotes are removed.
load_env_file() {
  local file=$1 line key value
  [[ -r $file ]] || { printf 'cannot read env file %s\n' "$file" >&2; return 1; }
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      key=${BASH_REMATCH[2]}
      value=${BASH_REMATCH[3]}
      if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
        value=${BASH_REMATCH[1]}
      fi
      export "$key=$value"
    else
      printf 'ignoring a line of %s that is not KEY=value\n' "$file" >&2
    fi
  done <"$file"
}

# libpq_uri DATABASE_URL: the postgresql:// URI libpq (pg_dump, psql) understands, from the
# postgis:// (or postgres://, postgresql://, pgsql://) URL Django reads.
libpq_uri() {
  local url=$1
  case "$url" in
    postgis://*|postgres://*|postgresql://*|pgsql://*) printf 'postgresql://%s\n' "${url#*://}" ;;
    "") printf 'DATABASE_URL is not set (postgis://user:password@host:5432/database)\n' >&2
        return 1 ;;
    *) printf 'DATABASE_URL must be a PostgreSQL URL (postgis://...), not %s\n' "${url%%:*}://..." >&2
       return 1 ;;
  esac
}

# pg_database_name URI: the database part of a postgresql:// URI.
pg_database_name() {
  local base=${1%%\?*}
  local db=${base##*/}
  [[ -n $db && $base == *://*/* ]] || { printf 'no database name in the URL\n' >&2; return 1; }
  printf '%s\n' "$db"
}

# pg_maintenance_uri URI: the same server and credentials, database "postgres".
pg_maintenance_uri() {
  local base=${1%%\?*}
  local query=${1#"$base"}
  printf '%s/postgres%s\n' "${base%/*}" "$query"
}
