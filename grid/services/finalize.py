"""Derived geometry columns kept with every area: a simplified copy and the area in m².

Both are computed in the database in one UPDATE per level (simplifying per request cost 14× a
stored copy in our trial). Call after any write of geometries (import, generator, admin edit).
"""

from django.contrib.gis.db.models import MultiPolygonField
from django.db import connection
from django.db.models import F, FloatField, Func, Value

from grid.models import Community, District, Generation, GridCell, Street

LEVEL_MODELS = {
    "district": District,
    "street": Street,
    "community": Community,
    "cell": GridCell,
}
# Degrees; ~5 m at Dalian's latitude: invisible at the zooms that use geom_simple (≤ 14).
SIMPLIFY_TOLERANCE_DEG = 0.00005


class _SimplifiedMulti(Func):
    """ST_Multi(ST_SimplifyPreserveTopology(geom, tol)) on PostGIS; the SpatiaLite equivalent."""

    output_field = MultiPolygonField(srid=4326)

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(
            compiler, conn, template="ST_Multi(ST_SimplifyPreserveTopology(%(expressions)s))"
        )

    def as_sqlite(self, compiler, conn, **extra):
        return self.as_sql(
            compiler,
            conn,
            template="CastToMultiPolygon(SimplifyPreserveTopology(%(expressions)s))",
        )


class _AreaM2(Func):
    """Geodesic area in square metres."""

    output_field = FloatField()

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="ST_Area(%(expressions)s::geography)")

    def as_sqlite(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="ST_Area(%(expressions)s, 1)")


def areas_finalize(*, generation: Generation, levels: list[str] | None = None) -> None:
    """Recompute geom_simple and area_m2 for every area of a generation (set-based)."""
    for level in levels or list(LEVEL_MODELS):
        model = LEVEL_MODELS[level]
        model.objects.filter(generation=generation).update(
            geom_simple=_SimplifiedMulti(F("geom"), Value(SIMPLIFY_TOLERANCE_DEG)),
            area_m2=_AreaM2(F("geom")),
        )
    if connection.vendor == "postgresql":
        # Fresh statistics so the planner sees the new rows (imports add thousands at once).
        with connection.cursor() as cur:
            for model in LEVEL_MODELS.values():
                cur.execute(f"ANALYZE {model._meta.db_table}")
