"""The policy layer (layer 7): the event record, toolkit comparison, back-tests, CRMA tracker.

* :func:`critmat.policy.events.events`: the cited record of government actions 2008-2025
  (``policy_events``), filtered by actor, instrument type, material and year;
* :func:`critmat.policy.compare.compare`: which instruments the EU, US, Japan, China and NATO
  used, when, how often, with examples and a generated text per actor pair;
* :func:`critmat.policy.backtest.backtest`: export-control events against trade (BACI) and
  against the scenario presets' predictions;
* :func:`critmat.policy.crma.benchmarks`: the strategic raw materials against the four
  CRMA Article 5 benchmarks.

Use them as ``kb.policy.<name>(...)``; methods and sources: ``docs/policy.md``.
"""
