"""Drift monitoring: `compare` (the Evidently check), `report` (what a check leaves behind), `check`
(reference and current data fetched, compared and reported), `batches` (drifted test batches).

Nothing is imported here: the API reads report names from `ml.drift.report` without loading pandas
or Evidently, which only `compare` and `check` pull in, and only when they run.
"""
