"""Parts of the dataset build: one module per group of tables, each with ``build(b)``.

``scripts/build_dataset.py`` imports every module here (name order) and calls its
``build(b: Build)`` after the core tables. A part keeps its table specs in
``scripts/schema/tables.d/<part>.yaml`` and its sources in ``scripts/schema/sources.d/<part>.yaml``.
"""
