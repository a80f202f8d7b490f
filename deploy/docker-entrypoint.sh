#!/bin/sh
# Entry point of the CivicGrid image. The web container migrates and collects static files into
# the shared volume before it serves (CIVICGRID_MIGRATE_ON_START / CIVICGRID_COLLECTSTATIC_ON_START
# = 1); worker and beat start after web is healthy, so they see the migrated schema.
set -eu
cd /srv/civicgrid
if [ "${CIVICGRID_MIGRATE_ON_START:-0}" = 1 ]; then
  python manage.py migrate --no-input
fi
if [ "${CIVICGRID_COLLECTSTATIC_ON_START:-0}" = 1 ]; then
  python manage.py collectstatic --no-input -v 0
fi
exec "$@"
