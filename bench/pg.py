"""What every benchmark needs first: its PostGIS database, created when missing."""

import sys


def ensure_database(url: str, who: str = "the benchmark") -> None:
    """Create the database `url` names if it does not exist (PostGIS comes with the migrations).
    Exits with a message when `url` is not a PostGIS URL."""
    import environ
    import psycopg2

    cfg = environ.Env.db_url_config(url)
    if "postgis" not in cfg["ENGINE"]:
        sys.exit(f"{who} needs PostGIS: postgis://…")
    conn = psycopg2.connect(
        dbname="postgres",
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    conn.close()
