"""Comparing training runs: the table of their parameters and metrics, and which run is best."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

KEY_METRICS = ("test_roc_auc", "test_pr_auc", "test_ks", "test_business_cost")
_LOWER_IS_BETTER = ("cost", "loss", "brier", "logloss")


def run_label(runs: pd.DataFrame) -> pd.Series:
    """A short readable name per run: its name and the start of its id."""
    return runs["run_name"].fillna("run") + " (" + runs["run_id"].str[:6] + ")"


def comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: `run`, then the metrics, then the parameters that differ between runs."""
    metrics = sorted(c for c in runs.columns if c.startswith("metric."))
    params = [c for c in sorted(runs.columns) if c.startswith("param.") and runs[c].nunique(dropna=False) > 1]
    table = pd.concat([runs[metrics], runs[params].apply(_numeric_if_possible)], axis=1)
    table.columns = [c.split(".", 1)[1] for c in table.columns]
    table.insert(0, "run", run_label(runs).to_numpy())
    return table.reset_index(drop=True)


def _numeric_if_possible(values: pd.Series) -> pd.Series:
    """MLflow stores parameters as text; numbers are compared and charted as numbers."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers if numbers.notna().sum() == values.notna().sum() else values


def lower_is_better(metric: str) -> bool:
    return any(word in metric for word in _LOWER_IS_BETTER)


def highlight_best(table: pd.DataFrame, metrics: list[str]) -> Styler:
    """The table with each metric's best value in bold green."""
    style = "font-weight: bold; background-color: #e8f5e9"
    styler = table.style
    for metric in metrics:
        best = table[metric].min() if lower_is_better(metric) else table[metric].max()
        styler = styler.map(lambda v, best=best: style if v == best else "", subset=[metric])
    return styler.format(precision=4, subset=metrics)


def numeric_params(table: pd.DataFrame, metrics: list[str]) -> list[str]:
    """Parameters with numbers in them, candidates for a parameter-vs-metric chart."""
    return [
        c for c in table.columns if c not in ("run", *metrics) and pd.api.types.is_numeric_dtype(table[c])
    ]
