#!/usr/bin/env bash
# manage.py with the production environment, as the service user:
#
#   sudo -u civicgrid /srv/civicgrid/deploy/manage.sh migrate
#
# Reads CIVICGRID_ENV_FILE (default /etc/civicgrid/civicgrid.env) the way systemd does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$HERE/lib.sh"
load_env_file "${CIVICGRID_ENV_FILE:-/etc/civicgrid/civicgrid.env}"
cd "$HERE/.."
exec "${CIVICGRID_PYTHON:-.venv/bin/python}" manage.py "$@"
