"""deploy/backup.sh + deploy/restore.sh against a real PostgreSQL: a migrated database with cases
registered by the intake service and an uploaded attachment is backed up, restored into a fresh
database, and the restored copy holds the same cases, geometries and files."""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

pytestmark = pytest.mark.postgis_only

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"

# Runs in the scratch database through `manage.py shell`: the real services, as an office would.
SEED = r"""
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from grid.services.generations import generation_activate
from petitions.models import Category, Organization
from petitions.services.attachments import attachment_add
from petitions.services.intake import petition_register
from tests.factories import build_hierarchy

h = build_hierarchy()
generation_activate(generation=h["generation"], at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
clerk = get_user_model().objects.create(username="backup_clerk")
office = Organization.objects.create(
    name="测试1街道办事处", kind=Organization.Kind.STREET_OFFICE, area_code="210204001"
)
category = Category.objects.get(code="0501")
received = timezone.now() - dt.timedelta(days=1)
receipts = []
# Two points inside cells of the test hierarchy, one outside every cell (kept, not placed).
for i, point in enumerate([(121.555, 38.905), (121.575, 38.915), (121.8, 39.1)]):
    reg = petition_register(
        actor=clerk, organization=office, channel="letter", case_type="appeal",
        category=category, summary=f"备份测试{i}：小区物业不履行维修义务",
        received_at=received, location=point,
        petitioners=[{"name": f"张{i}", "id_number": "11010519491231002X", "phone": "13812345678"}],
    )
    receipts.append(reg.petition.receipt_no)
letter = SimpleUploadedFile("来信.txt", "来信原文：请求维修电梯。".encode(), content_type="text/plain")
att = attachment_add(petition=reg.petition, actor=clerk, upload=letter, kind="letter")
print("SEED:" + json.dumps({"receipts": receipts, "attachment": att.file.name}))
"""

CASES_SQL = """
    SELECT p.receipt_no, ST_AsText(p.location), c.code, p.summary
    FROM petitions_petition p LEFT JOIN grid_gridcell c ON c.id = p.cell_id
    ORDER BY p.receipt_no
"""
CELLS_SQL = "SELECT code, ST_AsText(geom) FROM grid_gridcell ORDER BY code"
ATTACHMENTS_SQL = """
    SELECT p.receipt_no, a.file, a.size FROM petitions_attachment a
    JOIN petitions_petition p ON p.id = a.petition_id ORDER BY a.id
"""


def _server() -> dict:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": str(db["PORT"] or 5432),
        "user": db["USER"] or "postgres",
        "password": db["PASSWORD"] or "",
    }


def _url(name: str) -> str:
    s = _server()
    auth = s["user"] + (f":{s['password']}" if s["password"] else "")
    return f"postgis://{auth}@{s['host']}:{s['port']}/{name}"


def _connect(dbname: str):
    s = _server()
    conn = psycopg2.connect(
        host=s["host"], port=s["port"], user=s["user"], password=s["password"], dbname=dbname
    )
    conn.autocommit = True
    return conn


def _query(dbname: str, query: str) -> list[tuple]:
    conn = _connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


def _env(database: str, media_root: Path, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        # Eager tasks, and nothing of this scratch database reaches the suite's broker.
        if k not in {"CELERY_BROKER_URL", "CIVICGRID_REQUIRE_SERVICES", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DATABASE_URL=_url(database), MEDIA_ROOT=str(media_root), **extra)
    return env


def _run(args, env, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(str(a) for a in args[:3])} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result


def _manage(*args, env) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], env)


def test_backup_restores_into_a_fresh_database(tmp_path):
    suffix = secrets.token_hex(4)
    src, dst = f"cg_backup_src_{suffix}", f"cg_backup_dst_{suffix}"
    media_src, media_dst, backups = tmp_path / "media", tmp_path / "restored", tmp_path / "backups"
    media_src.mkdir()
    backups.mkdir()
    admin = _connect("postgres")
    try:
        with admin.cursor() as cur:
            # template0: nobody is ever connected to it (CREATE DATABASE fails on a busy template).
            cur.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(src)
                )
            )
        src_env = _env(src, media_src)
        _manage("migrate", "--no-input", "-v", "0", env=src_env)
        out = _manage("shell", "-c", SEED, env=src_env).stdout
        seed = json.loads(next(x for x in out.splitlines() if x.startswith("SEED:"))[5:])
        assert len(seed["receipts"]) == 3
        letter = media_src / seed["attachment"]
        assert letter.read_text(encoding="utf-8") == "来信原文：请求维修电梯。"

        # Retention: a backup older than BACKUP_KEEP_DAYS goes, other files stay.
        old = backups / "civicgrid-db-civicgrid-20200101T000000Z.dump"
        other = backups / "notes.txt"
        for f in (old, other):
            f.write_text("x")
            os.utime(f, (time.time() - 30 * 86400,) * 2)

        result = _run([BACKUP], _env(src, media_src, BACKUP_DIR=str(backups), BACKUP_KEEP_DAYS="7"))
        dump, media_tar = (Path(p) for p in result.stdout.split())
        assert dump.parent == backups and media_tar.parent == backups
        assert dump.name.startswith(f"civicgrid-db-{src}-") and dump.suffix == ".dump"
        assert media_tar.name.startswith("civicgrid-media-") and media_tar.name.endswith(".tar.gz")
        assert not old.exists()
        assert other.exists()
        assert sorted(p.name for p in backups.iterdir() if not p.name.startswith(".")) == sorted(
            [dump.name, media_tar.name, "notes.txt"]
        )

        # Restore into a database that does not exist yet: the script creates it.
        dst_env = _env(dst, media_dst)
        _run([RESTORE, dump, media_tar], dst_env)

        cases = _query(dst, CASES_SQL)
        assert [c[0] for c in cases] == seed["receipts"]
        assert cases == _query(src, CASES_SQL)
        assert [(c[1], c[2]) for c in cases] == [
            ("POINT(121.555 38.905)", "210204001002001"),
            ("POINT(121.575 38.915)", "210204002001001"),
            ("POINT(121.8 39.1)", None),
        ]
        cells = _query(dst, CELLS_SQL)
        assert len(cells) == 8
        assert cells == _query(src, CELLS_SQL)
        attachments = _query(dst, ATTACHMENTS_SQL)
        assert attachments == _query(src, ATTACHMENTS_SQL)
        assert attachments == [(seed["receipts"][2], seed["attachment"], letter.stat().st_size)]
        assert (media_dst / seed["attachment"]).read_bytes() == letter.read_bytes()
        # Django finds every migration applied: the restored database is ready to serve.
        _manage("migrate", "--check", env=_env(dst, media_dst))

        # Restoring again over data asks for --yes, and then gives the same result.
        refused = _run([RESTORE, dump], dst_env, check=False)
        assert refused.returncode != 0
        assert "--yes" in refused.stderr
        _run([RESTORE, "--yes", dump], dst_env)
        assert _query(dst, CASES_SQL) == cases
        assert _query(dst, CELLS_SQL) == cells
    finally:
        with admin.cursor() as cur:
            for name in (src, dst):
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        admin.close()
