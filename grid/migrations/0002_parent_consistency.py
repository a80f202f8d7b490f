"""Tie each child's (parent id, generation, parent_code) to its parent's (id, generation, code).

PostgreSQL: a composite foreign key (ON UPDATE CASCADE, so renumbering a parent renumbers the
copy, and the CHECK on the child then insists the child's own code follows). SQLite cannot add a
foreign key to an existing table, so it gets BEFORE INSERT/UPDATE triggers with the same meaning.
"""

from django.db import migrations

LEVELS = [
    # child table, fk column, parent table
    ("grid_street", "district_id", "grid_district"),
    ("grid_community", "street_id", "grid_street"),
    ("grid_gridcell", "community_id", "grid_community"),
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for child, fk, parent in LEVELS:
        if vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {child} ADD CONSTRAINT {child}_parent_consistent "
                f"FOREIGN KEY ({fk}, generation_id, parent_code) "
                f"REFERENCES {parent} (id, generation_id, code) "
                "ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
            )
        elif vendor == "sqlite":
            for when in ("INSERT", "UPDATE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {child}_parent_consistent_{when.lower()} "
                    f"BEFORE {when} ON {child} FOR EACH ROW "
                    f"WHEN NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = NEW.{fk} "
                    "AND p.generation_id = NEW.generation_id AND p.code = NEW.parent_code) "
                    "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: "
                    f"{child}_parent_consistent'); END"
                )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for child, _fk, _parent in LEVELS:
        if vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {child} DROP CONSTRAINT IF EXISTS {child}_parent_consistent"
            )
        elif vendor == "sqlite":
            for when in ("insert", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {child}_parent_consistent_{when}")


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
