"""Comparing training runs: which registered version and alias each run is, the key metrics first with
the best marked, the parameters that differ between the runs, and the training row counts."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

# What decides between two credit models, first: ranking (AUC, KS), money (cost), and how many
# clients it turns away.
KEY_METRICS = ("test_roc_auc", "test_ks", "test_business_cost", "test_refusal_rate")
METRIC_LABELS = {
    "test_roc_auc": "test AUC",
    "test_ks": "test KS",
    "test_business_cost": "business cost",
    "test_refusal_rate": "refusal rate",
}
_LOWER_IS_BETTER = ("cost", "loss", "brier", "logloss", "ece", "refusal")
ROWS_PARAM = "param.rows"


def registered_labels(versions: list[dict[str, Any]]) -> dict[str, str]:
    """Run id → "v3 (champion)" (or "v2, v4" when one run was registered more than once)."""
    labels: dict[str, list[str]] = {}
    for info in sorted(versions, key=lambda v: int(v["version"])):
        if info.get("run_id"):
            aliases = ", ".join(info.get("aliases") or [])
            labels.setdefault(info["run_id"], []).append(
                f"v{info['version']}" + (f" ({aliases})" if aliases else "")
            )
    return {run_id: ", ".join(names) for run_id, names in labels.items()}


def run_label(runs: pd.DataFrame, registered: dict[str, str] | None = None) -> pd.Series:
    """A short readable name per run: its registered version and alias first, then name and id."""
    registered = registered or {}
    labels = [
        (f"{registered[run_id]} · " if run_id in registered else "") + f"{name or 'run'} ({run_id[:6]})"
        for run_id, name in zip(runs["run_id"], runs["run_name"], strict=True)
    ]
    return pd.Series(labels, index=runs.index)


def run_links(runs: pd.DataFrame, tracking_uri: str) -> pd.Series | None:
    """The MLflow UI page of each run, when MLflow is reached over HTTP."""
    if not tracking_uri.startswith(("http://", "https://")) or "experiment_id" not in runs:
        return None
    base = tracking_uri.rstrip("/")
    return base + "/#/experiments/" + runs["experiment_id"].astype(str) + "/runs/" + runs["run_id"]


def comparison_table(
    runs: pd.DataFrame, registered: dict[str, str] | None = None, tracking_uri: str = ""
) -> pd.DataFrame:
    """One row per run: run, version, key metrics, training rows, the parameters that differ, and
    a link to the run in MLflow."""
    registered = registered or {}
    table = pd.DataFrame({"run": run_label(runs, registered).to_numpy()})
    table["version"] = runs["run_id"].map(registered).fillna("-").to_numpy()
    for metric in KEY_METRICS:
        if f"metric.{metric}" in runs:
            table[METRIC_LABELS[metric]] = runs[f"metric.{metric}"].to_numpy()
    if ROWS_PARAM in runs:
        table["training rows"] = pd.to_numeric(runs[ROWS_PARAM], errors="coerce").astype("Int64").to_numpy()
    for column in differing_params(runs):
        table[column.removeprefix("param.")] = _numeric_if_possible(runs[column]).to_numpy()
    links = run_links(runs, tracking_uri)
    if links is not None:
        table["MLflow"] = links.to_numpy()
    return table


def differing_params(runs: pd.DataFrame) -> list[str]:
    """`param.*` columns whose value is not the same for every selected run (row count aside)."""
    return [
        c
        for c in sorted(runs.columns)
        if c.startswith("param.") and c != ROWS_PARAM and runs[c].nunique(dropna=False) > 1
    ]


def other_metrics(runs: pd.DataFrame) -> pd.DataFrame:
    """Every other logged metric, one row per run (behind an expander: there are dozens)."""
    keys = {f"metric.{m}" for m in KEY_METRICS}
    columns = sorted(c for c in runs.columns if c.startswith("metric.") and c not in keys)
    table = runs[columns].rename(columns=lambda c: c.removeprefix("metric."))
    table.insert(0, "run", run_label(runs).to_numpy())
    return table.reset_index(drop=True)


def _numeric_if_possible(values: pd.Series) -> pd.Series:
    """MLflow stores parameters as text; numbers are compared and charted as numbers."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers if numbers.notna().sum() == values.notna().sum() else values


def lower_is_better(metric: str) -> bool:
    return any(word in metric for word in _LOWER_IS_BETTER)


def best_values(table: pd.DataFrame, metrics: list[str]) -> dict[str, float]:
    """Each metric's best value among the runs (lowest for costs and rates, else highest)."""
    return {
        m: table[m].min() if lower_is_better(m) else table[m].max() for m in metrics if table[m].notna().any()
    }


def highlight_best(table: pd.DataFrame, metrics: list[str]) -> Styler:
    """The table with each metric's best value in bold green, metrics to 4 significant digits."""
    style = "font-weight: bold; background-color: #e8f5e9"
    styler = table.style
    for metric, best in best_values(table, metrics).items():
        styler = styler.map(lambda v, best=best: style if v == best else "", subset=[metric])
    return styler.format("{:.4g}", subset=metrics, na_rep="-")


def numeric_params(table: pd.DataFrame, metrics: list[str]) -> list[str]:
    """Parameters with numbers in them, candidates for a parameter-vs-metric chart."""
    skip = {"run", "version", "training rows", "MLflow", *metrics}
    return [c for c in table.columns if c not in skip and pd.api.types.is_numeric_dtype(table[c])]
