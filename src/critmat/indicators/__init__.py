"""Indicators over the knowledge base: thin orchestration over :mod:`critmat.methods`.

Each function takes the knowledge base and the shared selection vocabulary, pulls the tables
it needs, calls the pure method and returns a tidy frame with units and provenance in
``frame.attrs["critmat"]``. ``kb.indicators`` exposes the same functions as methods.
"""
