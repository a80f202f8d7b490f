#!/usr/bin/env bash
# Install what is missing: Debian packages, a Python that can load SQLite extensions, the venv,
# the project's Python dependencies and the compiled message catalogues. Safe to run repeatedly.
#
#   scripts/bootstrap.sh            packages for the demo (GDAL, GEOS, PROJ, SpatiaLite, fonts)
#   scripts/bootstrap.sh --test     also PostGIS for PostgreSQL 15 and Debian's chromium
#   scripts/bootstrap.sh --bench    PostGIS, the PostgreSQL and Redis clients and wrk (make bench)
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_TEST=0
WANT_BENCH=0
[[ "${1:-}" == "--test" ]] && WANT_TEST=1
[[ "${1:-}" == "--bench" ]] && WANT_BENCH=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------------------
PKGS=(gdal-bin libgdal-dev libgeos-dev libproj-dev libsqlite3-mod-spatialite gettext
      python3-venv fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)
if [[ $WANT_TEST == 1 ]]; then
  PKGS+=(postgresql-15-postgis-3 chromium redis-tools postgresql-client poppler-utils nginx-light openssl)
fi
if [[ $WANT_BENCH == 1 ]]; then
  # wrk: the HTTP load generator of bench/requests.py (its Lua script is bench/wrk.lua).
  PKGS+=(postgresql-15-postgis-3 redis-tools postgresql-client wrk)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "Installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    SUDO="sudo"
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. A Python ≥ 3.11 that can load SQLite extensions (SpatiaLite needs it) -------------------
can_load_ext() {
  "$1" - <<'PY' >/dev/null 2>&1
import sys, sqlite3
assert sys.version_info >= (3, 11)
c = sqlite3.connect(":memory:")
c.enable_load_extension(True)
c.load_extension("mod_spatialite")
import venv, ensurepip  # noqa: F401  (python3-venv present)
PY
}
pick_python() {
  local c
  for c in ${PYTHON:-} /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 \
           python3.13 python3.12 python3.11 python3; do
    [[ -n "$c" ]] || continue
    c=$(command -v "$c" 2>/dev/null) || continue
    if can_load_ext "$c"; then echo "$c"; return 0; fi
  done
  return 1
}
if [[ -x .venv/bin/python ]] && can_load_ext .venv/bin/python; then
  :
else
  PY=$(pick_python) || die "no Python >= 3.11 here can load SQLite extensions (mod_spatialite).
  pyenv and some builds compile sqlite3 without extension loading. Install Debian's python3 and
  python3-venv (apt-get install python3 python3-venv), or point PYTHON=/path/to/python3 at one that can."
  say "Creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi

# --- 3. Python dependencies (re-installed when pyproject.toml changes) --------------------------
stamp=.venv/.civicgrid-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "Installing Python dependencies"
  .venv/bin/pip install -q --upgrade pip
  # The project runs from its checkout (manage.py), so only its dependencies are installed.
  .venv/bin/python - > .venv/requirements.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["dev"]))
PY
  .venv/bin/pip install -q -r .venv/requirements.txt
  echo "$want" > "$stamp"
fi

# --- 4. Message catalogues --------------------------------------------------------------------
.venv/bin/python manage.py compilemessages -v 0 --ignore=.venv >/dev/null
