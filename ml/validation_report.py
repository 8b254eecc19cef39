"""The validation report of a registered version: what a model-risk reviewer reads before approving it.

Built from the version's training run alone (metrics, parameters and the evaluation artifacts logged
by ml.train) plus the quality gate's verdict against the current champion, so it can be produced at
registration and again at any time (`python -m ml report VERSION`). Written as HTML (every value from
data escaped, images inline, a Content-Security-Policy that allows no script) and as Markdown.
"""

from __future__ import annotations

import base64
import html
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from ml import plots, stability
from ml.artifacts import (
    DATA_SUMMARY_ARTIFACT,
    FAIRNESS_ARTIFACT,
    IMPORTANCE_ARTIFACT,
    PARAMS_ARTIFACT,
    REFERENCE_ARTIFACT,
    SCORE_COLUMN,
    TEST_SCORES_ARTIFACT,
    VALIDATION_REPORT_HTML,
    VALIDATION_REPORT_MD,
)
from ml.config import Params
from ml.fairness import results_from_dict
from ml.reasons import fallback_entry, load_catalogue, made_of
from ml.registry import Registry, as_dict

REPORT_HTML, REPORT_MD = VALIDATION_REPORT_HTML, VALIDATION_REPORT_MD
REPORT_TAG = "validation_report"  # on the version: the artifact name, or why there is none
NOT_RECORDED = "Not recorded for this run (trained before this figure was logged)."
TOP_FEATURES = 15
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    ".pass{color:#176d17}.fail{color:#a11}"
)


@dataclass
class Section:
    title: str
    html: str
    markdown: str
    filled: bool = True


@dataclass
class RunEvidence:
    """Everything read back from one version's training run (None where the run has no such artifact)."""

    model_name: str
    version: str
    run_id: str
    started: str
    tags: dict[str, str]
    run_params: dict[str, str]
    metrics: dict[str, float]
    data_summary: dict[str, Any] | None = None
    importance: dict[str, float] | None = None
    test_scores: pd.DataFrame | None = None
    reference_scores: np.ndarray | None = None
    fairness: list[dict[str, Any]] | None = None
    params: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _download(registry: Registry, run_id: str, path: str, into: Path) -> Path | None:
    try:
        return Path(registry.client.download_artifacts(run_id, path, str(into)))
    except (MlflowException, OSError):
        return None


def gather(registry: Registry, version: str) -> RunEvidence:
    """Read the version's run: metrics, parameters, tags and the small evaluation artifacts."""
    info = registry.client.get_model_version(registry.name, str(version))
    run = registry.client.get_run(info.run_id)
    evidence = RunEvidence(
        model_name=registry.name,
        version=str(version),
        run_id=info.run_id,
        started=datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(timespec="seconds"),
        tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        run_params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )
    with tempfile.TemporaryDirectory() as tmp:
        into = Path(tmp)
        for artifact, attribute in (
            (DATA_SUMMARY_ARTIFACT, "data_summary"),
            (IMPORTANCE_ARTIFACT, "importance"),
            (FAIRNESS_ARTIFACT, "fairness"),
            (PARAMS_ARTIFACT, "params"),
        ):
            path = _download(registry, info.run_id, artifact, into)
            if path:
                setattr(evidence, attribute, json.loads(path.read_text()))
        path = _download(registry, info.run_id, TEST_SCORES_ARTIFACT, into)
        if path:
            evidence.test_scores = pd.read_parquet(path)
        path = _download(registry, info.run_id, REFERENCE_ARTIFACT, into)
        if path:
            evidence.reference_scores = pd.read_parquet(path, columns=[SCORE_COLUMN])[SCORE_COLUMN].to_numpy()
    return evidence


# rendering helpers ------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value))


def _md(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> tuple[str, str]:
    """The same table as escaped HTML and as Markdown."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    markdown = "\n".join(
        [
            "| " + " | ".join(_md(h) for h in headers) + " |",
            "|" + "---|" * len(headers),
            *("| " + " | ".join(_md(c) for c in row) + " |" for row in rows),
        ]
    )
    return f"<table><tr>{head}</tr>{body}</table>", markdown


def _figure_html(figure: Any, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _pct(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _missing(title: str) -> Section:
    return Section(title, f"<p>{_e(NOT_RECORDED)}</p>", NOT_RECORDED, filled=False)


def _paragraphs(lines: list[str]) -> tuple[str, str]:
    return "".join(f"<p>{_e(line)}</p>" for line in lines), "\n\n".join(lines)


# sections -------------------------------------------------------------------------------------------------


def _purpose(ev: RunEvidence) -> Section:
    title = "Purpose and data"
    summary = ev.data_summary
    if not summary:
        return _missing(title)
    rows, rates = summary["rows"], summary["target_rate"]
    dates = summary.get("date_range")
    lines = [
        f"Model {ev.model_name} version {ev.version} estimates the probability that an applicant defaults "
        "on a loan; applications scoring at or above the decision threshold are refused.",
        f"Training run {ev.run_id}, started {ev.started}, code commit {ev.tags.get('git_commit', 'unknown')}.",
        f"Data: {summary['source']} (hash {summary['data_hash'][:16]}), "
        f"{sum(rows.values()):,} rows split {rows['train']:,} train / {rows['valid']:,} validation / "
        f"{rows['test']:,} test.",
        "Default rate: " + ", ".join(f"{name} {_pct(rate)}" for name, rate in rates.items()) + ".",
        f"Date range: {dates[0]} to {dates[1]}."
        if dates
        else "Date range: the data has no date column, so the rows cannot be placed in time.",
    ]
    body_html, body_md = _paragraphs(lines)
    return Section(title, body_html, body_md)


def _features(ev: RunEvidence) -> Section:
    title = "Features and their importance"
    if not ev.importance:
        return _missing(title)
    catalogue = load_catalogue()
    total = sum(ev.importance.values()) or 1.0
    ranked = sorted(ev.importance.items(), key=lambda item: item[1], reverse=True)
    rows = [
        [
            name,
            (catalogue.get(name) or fallback_entry(name)).text,
            ", ".join(made_of(name)) if made_of(name) != (name,) else "raw input",
            _pct(gain / total),
        ]
        for name, gain in ranked[:TOP_FEATURES]
    ]
    table_html, table_md = _table(["feature", "meaning (reason catalogue)", "made of", "share of gain"], rows)
    intro = (
        f"{len(ranked)} model features; the {min(TOP_FEATURES, len(ranked))} most important by total gain:"
    )
    return Section(title, f"<p>{_e(intro)}</p>{table_html}", f"{intro}\n\n{table_md}")


def _performance(ev: RunEvidence) -> Section:
    title = "Performance on test data"
    m, scores = ev.metrics, ev.test_scores
    if "test_roc_auc" not in m or scores is None:
        return _missing(title)
    threshold = m["threshold"]
    y, p = scores["target"].to_numpy(), scores["prediction"].to_numpy()
    refused = p >= threshold
    rows = [
        ["AUC", _num(m["test_roc_auc"])],
        ["KS", _num(m.get("test_ks"))],
        ["Brier score", _num(m.get("test_brier"), 4)],
        ["Average precision", _num(m.get("test_pr_auc"))],
        ["Decision threshold (probability of default)", _pct(threshold)],
        ["Refusal rate", _pct(m.get("test_refusal_rate"))],
        ["Business cost per client", _num(m.get("test_business_cost"), 4)],
    ]
    metrics_html, metrics_md = _table(["figure", "value"], rows)
    confusion = [
        ["defaulted", int(np.sum((y == 1) & refused)), int(np.sum((y == 1) & ~refused))],
        ["repaid", int(np.sum((y == 0) & refused)), int(np.sum((y == 0) & ~refused))],
    ]
    confusion_html, confusion_md = _table(["outcome \\ decision", "refused", "approved"], confusion)
    figure = _figure_html(plots.calibration_figure(y, p), "calibration curve")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    bins = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, len(edges) - 2)
    calibration = [
        [f"{_pct(edges[i])} to {_pct(edges[i + 1])}", _pct(p[bins == i].mean()), _pct(y[bins == i].mean())]
        for i in range(len(edges) - 1)
        if np.any(bins == i)
    ]
    calib_html, calib_md = _table(
        ["score band", "predicted default rate", "observed default rate"], calibration
    )
    return Section(
        title,
        f"{metrics_html}<h3>Confusion at the threshold ({len(y):,} test clients)</h3>{confusion_html}"
        f"<h3>Calibration</h3>{figure}{calib_html}",
        f"{metrics_md}\n\n**Confusion at the threshold**\n\n{confusion_md}\n\n**Calibration**\n\n{calib_md}",
    )


def _stability(ev: RunEvidence, params: Params) -> Section:
    title = "Stability of the test scores against training"
    if ev.test_scores is None or ev.reference_scores is None:
        return _missing(title)
    result = stability.score_stability(
        ev.reference_scores, ev.test_scores["prediction"].to_numpy(), params.stability
    )
    bands = stability.band_text(params.stability)
    intro = (
        f"PSI of the test scores against the training sample: {result.psi:.3f}, {result.band} "
        f"({bands[result.band]}). Mean score {_pct(result.mean_reference)} in training, "
        f"{_pct(result.mean_current)} on test."
    )
    rows = [[b.label, _pct(b.reference), _pct(b.current)] for b in result.bins]
    table_html, table_md = _table(["score band", "training", "test"], rows)
    return Section(title, f"<p>{_e(intro)}</p>{table_html}", f"{intro}\n\n{table_md}")


def _fairness(ev: RunEvidence) -> Section:
    title = "Fairness"
    if ev.fairness is None:
        return _missing(title)
    results = results_from_dict(ev.fairness)
    if not results:
        text = "None of the protected attributes (params.yaml fairness.protected) is a column of this data."
        return Section(title, f"<p>{_e(text)}</p>", text)

    def ci(pair: Any) -> str:
        return f"{_pct(pair[0])} to {_pct(pair[1])}" if pair else "n/a"

    parts_html, parts_md = [], []
    for r in results:
        summary = (
            f"{r.attribute}: lowest approval-rate ratio {_num(r.min_approval_ratio, 2)} "
            f"(95% CI {_num(r.min_approval_ratio_ci[0], 2) if r.min_approval_ratio_ci else 'n/a'} to "
            f"{_num(r.min_approval_ratio_ci[1], 2) if r.min_approval_ratio_ci else 'n/a'}), "
            f"equal-opportunity difference {_pct(r.equal_opportunity_diff)} "
            f"(CI {ci(r.equal_opportunity_diff_ci)})."
        )
        rows = [
            [
                g.group,
                g.rows,
                f"{_pct(g.approval_rate)} ({ci(g.approval_rate_ci)})",
                _num(g.approval_ratio, 2),
                f"{_pct(g.tpr)} ({ci(g.tpr_ci)})",
                f"{_num(g.auc)} ({_num(g.auc_ci[0]) if g.auc_ci else 'n/a'} to {_num(g.auc_ci[1]) if g.auc_ci else 'n/a'})",
                "yes" if g.gated else "no (too few rows)",
            ]
            for g in r.groups
        ]
        table_html, table_md = _table(
            [
                "group",
                "rows",
                "approval rate (CI)",
                "ratio to most approved",
                "approved among repaid (CI)",
                "AUC (CI)",
                "gated",
            ],
            rows,
        )
        notes = "".join(f"<p>{_e(n)}</p>" for n in r.notes)
        parts_html.append(f"<h3>{_e(r.attribute)}</h3><p>{_e(summary)}</p>{table_html}{notes}")
        parts_md.append(f"**{_md(r.attribute)}**: {summary}\n\n{table_md}")
    return Section(title, "".join(parts_html), "\n\n".join(parts_md))


def _gate(ev: RunEvidence, verdict: dict[str, Any] | None) -> Section:
    title = "Quality gate against the champion"
    if verdict is None:
        return _missing(title)
    champion = (
        f"champion v{verdict['champion_version']} (AUC {_num(verdict['champion_auc'])})"
        if verdict.get("champion_version") and verdict.get("champion_auc") is not None
        else "no other champion to compare with"
    )
    outcome = "PASSES" if verdict["passed"] else "FAILS"
    lines = [
        f"Version {ev.version} {outcome} the gate (AUC {_num(verdict.get('candidate_auc'))}; {champion})."
    ]
    lines += [f"Refused because: {reason}" for reason in verdict.get("reasons", [])]
    criteria = verdict.get("criteria") or {}
    if criteria:
        fair = criteria.get("fairness", {})
        lines.append(
            f"Criteria: AUC at least {criteria.get('min_auc')}, at most {criteria.get('max_auc_drop')} below the "
            f"champion; fairness {'on' if fair.get('enabled') else 'off'} (approval-rate ratio at least "
            f"{fair.get('min_approval_ratio')}, equal-opportunity difference at most "
            f"{fair.get('max_equal_opportunity_diff')})."
        )
    css = "pass" if verdict["passed"] else "fail"
    body = "".join(f"<p>{_e(line)}</p>" for line in lines[1:])
    return Section(title, f'<p class="{css}"><b>{_e(lines[0])}</b></p>{body}', "\n\n".join(lines))


def _limitations(ev: RunEvidence, params: Params) -> Section:
    title = "Known limitations"
    lines = [
        "Performance is measured on a random split of the same data as training, not on a later period: "
        "out-of-time performance is unknown until outcomes arrive.",
        "Reason codes come from the model's own contributions (TreeSHAP, log-odds); attributes excluded "
        f"from reasons: {', '.join(params.reasons.excluded) or 'none'}. They are still model inputs.",
        "Age and gender figures describe outcomes per group; a ratio above the gate's minimum is not, by "
        "itself, evidence of fair treatment.",
    ]
    source = (ev.data_summary or {}).get("source", "")
    if source.startswith("generated"):
        lines.insert(
            0,
            "Trained on synthetic data (ml.generate): figures show the pipeline works, not how "
            "the model would do on real applicants.",
        )
    for item in ev.fairness or []:
        lines += list(item.get("notes", []))
    if ev.test_scores is not None:
        y, p = ev.test_scores["target"].to_numpy(), ev.test_scores["prediction"].to_numpy()
        edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
        bins = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, len(edges) - 2)
        gaps = [abs(p[bins == i].mean() - y[bins == i].mean()) for i in np.unique(bins)]
        lines.append(
            f"Calibration: the largest gap between predicted and observed default rate over the "
            f"score deciles is {max(gaps):.1%} points."
        )
    body_html, body_md = _paragraphs(lines)
    return Section(title, body_html, body_md)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{name}.")
        else:
            rows.append([name, json.dumps(value) if isinstance(value, list | dict) else value])
    return rows


def _parameters(ev: RunEvidence) -> Section:
    title = "Training parameters"
    if ev.params:
        rows = [
            r
            for r in _flatten(ev.params)
            if r[0].split(".")[0]
            in ("data", "split", "train", "cost", "validation", "reference", "fairness", "reasons")
        ]
    elif ev.run_params:
        rows = [[k, v] for k, v in sorted(ev.run_params.items())]
    else:
        return _missing(title)
    rows.append(["best_iteration", int(ev.metrics.get("best_iteration", 0))])
    table_html, table_md = _table(["parameter", "value"], rows)
    return Section(title, table_html, table_md)


def build_sections(ev: RunEvidence, verdict: dict[str, Any] | None, params: Params) -> list[Section]:
    return [
        _purpose(ev),
        _features(ev),
        _performance(ev),
        _stability(ev, params),
        _fairness(ev),
        _gate(ev, verdict),
        _limitations(ev, params),
        _parameters(ev),
    ]


def render_html(ev: RunEvidence, sections: list[Section]) -> str:
    title = f"Validation report: {ev.model_name} version {ev.version}"
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(f"<section><h2>{_e(s.title)}</h2>{s.html}</section>" for s in sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{_e(title)}</h1><p>Generated {_e(generated)}.</p>{body}</body></html>"
    )


def render_markdown(ev: RunEvidence, sections: list[Section]) -> str:
    title = f"# Validation report: {_md(ev.model_name)} version {ev.version}"
    return "\n\n".join([title, *(f"## {s.title}\n\n{s.markdown}" for s in sections)]) + "\n"


def build_report(registry: Registry, version: str, params: Params) -> tuple[str, str, list[Section]]:
    """HTML, Markdown and the sections of `version`'s report (the gate judged now, against the champion)."""
    evidence = gather(registry, version)
    verdict = as_dict(registry.check_gate(str(version)))
    sections = build_sections(evidence, verdict, params)
    return render_html(evidence, sections), render_markdown(evidence, sections), sections


def log_report(registry: Registry, version: str, params: Params) -> str:
    """Generate the report and log it to the version's run; return the run id."""
    html_text, markdown, _ = build_report(registry, version, params)
    run_id = registry.client.get_model_version(registry.name, str(version)).run_id
    registry.client.log_text(run_id, html_text, REPORT_HTML)
    registry.client.log_text(run_id, markdown, REPORT_MD)
    return run_id


def write_report(registry: Registry, version: str, params: Params, path: Path) -> list[Path]:
    """Write the report to `path` (.html, with the Markdown next to it as .md)."""
    html_text, markdown, _ = build_report(registry, version, params)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html_path, md_path = path.with_suffix(".html"), path.with_suffix(".md")
    html_path.write_text(html_text, encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return [html_path, md_path]


def register_version(
    registry: Registry, model_uri: str, run_id: str, params: Params, tags: dict[str, str] | None = None
) -> str:
    """Register a logged model and log its validation report to the run (every registration path uses
    this). A report that cannot be built leaves the version registered, tagged with the error."""
    version = registry.register(model_uri, run_id, tags=tags)
    try:
        log_report(registry, version, params)
        outcome = REPORT_HTML
    except Exception as exc:  # noqa: BLE001 - the version exists; say why it has no report
        outcome = f"failed: {type(exc).__name__}: {exc}"[:500]
        print(f"warning: no validation report for version {version}: {outcome}", file=sys.stderr)
    registry.client.set_model_version_tag(registry.name, version, REPORT_TAG, outcome)
    return version
