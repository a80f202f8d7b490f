"""`INSERT … ON CONFLICT DO NOTHING RETURNING id`: which rows *this* statement created.

Raw SQL because `bulk_create(ignore_conflicts=True)` does not say which rows it inserted, and a
sweep or a notice must act only on its own rows: when two workers race, the loser's insert waits
on the winner's index entry, then does nothing and returns no row — so only the winner notifies.
PostgreSQL and SQLite (≥ 3.35) share this syntax; without a conflict target it covers every
unique constraint and unique index, partial ones included.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router

BATCH = 500  # rows per statement: well below SQLite's 32,766 bound parameters


def insert_new_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> list[int]:
    """Insert `objs` (values of `fields`), skipping rows that violate a unique constraint;
    return the primary keys of the rows actually inserted."""
    if not objs:
        return []
    model = type(objs[0])
    opts = model._meta
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    columns = [opts.get_field(name) for name in fields]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    created: list[int] = []
    for start in range(0, len(objs), BATCH):
        batch = objs[start : start + BATCH]
        params = [
            field.get_db_prep_save(field.pre_save(obj, add=True), connection)
            for obj in batch
            for field in columns
        ]
        sql = (
            f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in columns)}) "
            f"VALUES {', '.join([row] * len(batch))} "
            f"ON CONFLICT DO NOTHING RETURNING {qn(opts.pk.column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created.extend(r[0] for r in cursor.fetchall())
    return created
