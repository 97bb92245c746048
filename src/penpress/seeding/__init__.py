"""Bulk loading of realistic generated content: ``flask --app penpress seed-db``.

:func:`bulk_load` writes a :class:`SeedPlan` (sizes, seed) in batches straight to the tables;
:mod:`penpress.seeding.content` makes up the words. See ``loader`` for what it guarantees.
"""

from penpress.seeding.loader import (
    COUNTER_COLUMNS,
    GENERATED_EMAIL_DOMAIN,
    GENERATED_PASSWORD,
    LoadReport,
    SeedError,
    SeedPlan,
    bulk_load,
    counter_columns,
    default_users,
)

__all__ = [
    "COUNTER_COLUMNS",
    "GENERATED_EMAIL_DOMAIN",
    "GENERATED_PASSWORD",
    "LoadReport",
    "SeedError",
    "SeedPlan",
    "bulk_load",
    "counter_columns",
    "default_users",
]
