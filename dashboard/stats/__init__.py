"""The statistics engine (SPEC §5): every figure for any area and period, as of any instant.

Public API (other modules import from here, not from the submodules):
    Period, change, Figure, FIGURE_DEFS, FIGURE_KEYS, UNASSIGNED,
    figures_for_areas, figures_for_children, figure_parts, figure_records, records_from_filter,
    trend.
"""

from dashboard.stats.engine import (
    FIGURE_DEFS,
    FIGURE_KEYS,
    LEVELS,
    UNASSIGNED,
    Figure,
    FigureDef,
    active_generation,
    child_codes,
    figure_parts,
    figure_records,
    figures_for_areas,
    figures_for_children,
    make_figure,
    records_from_filter,
    trend,
)
from dashboard.stats.periods import TZ, Period, change

__all__ = [
    "FIGURE_DEFS",
    "FIGURE_KEYS",
    "LEVELS",
    "TZ",
    "UNASSIGNED",
    "Figure",
    "FigureDef",
    "Period",
    "active_generation",
    "change",
    "child_codes",
    "figure_parts",
    "figure_records",
    "figures_for_areas",
    "figures_for_children",
    "make_figure",
    "records_from_filter",
    "trend",
]
