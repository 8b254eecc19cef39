"""What a drift check leaves behind: the JSON summary, the self-contained HTML report, the files in
`reports/`, the retrain trigger, and the run in MLflow's monitoring experiment.

Every file is written under a temporary name and renamed into place, timestamped copies first and
`latest.*` last, so a reader never sees half a report and a failed check never becomes `latest`.
The MLflow run keeps the same two files, because the console reads reports from MLflow wherever the
check ran (a Render disk is wiped on every deploy).
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.artifacts import DRIFT_HTML_ARTIFACT, DRIFT_JSON_ARTIFACT

if TYPE_CHECKING:  # the API imports this module for its names and readers, without pandas or Evidently
    from ml.drift.compare import DriftResult

LATEST_HTML, LATEST_JSON, TRIGGER_FILE = "latest.html", "latest.json", "retrain.trigger"
REPORT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_report_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus six random hex digits."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def report_paths(reports_dir: Path, report_id: str) -> tuple[Path, Path]:
    if not REPORT_ID.match(report_id):
        raise ValueError(f"not a report id: {report_id!r}")
    return reports_dir / f"drift_{report_id}.html", reports_dir / f"drift_{report_id}.json"


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite numbers become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def build_summary(
    result: DriftResult,
    report_id: str,
    reference: dict[str, Any],
    current: dict[str, Any],
    mlflow_run_id: str | None = None,
) -> dict[str, Any]:
    """The JSON summary: verdict, per-column results, data quality, prediction drift, rows, sources."""
    from evidently import __version__ as evidently_version

    prediction = result.prediction
    return _finite(
        {
            "report_id": report_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "drift_share": result.drift_share,
            "dataset_drift": result.dataset_drift,
            "threshold": result.threshold,
            "n_columns": len(result.columns),
            "n_drifted": len(result.drifted_columns),
            "drifted_columns": result.drifted_columns,
            "columns": {
                c.column: {
                    "type": c.kind,
                    "method": c.method,
                    "score": c.score,
                    "threshold": c.threshold,
                    "drifted": c.drifted,
                    **({"note": c.note} if c.note else {}),
                }
                for c in result.columns
            },
            "prediction_drift": None
            if prediction is None
            else {
                "method": prediction.method,
                "score": prediction.score,
                "threshold": prediction.threshold,
                "drifted": prediction.drifted,
                "reference_mean": result.prediction_means[0] if result.prediction_means else None,
                "current_mean": result.prediction_means[1] if result.prediction_means else None,
            },
            "data_quality": {
                "score": result.quality_score,
                "issues": result.quality_issues(),
                "columns": {
                    name: {
                        "missing_reference": q.missing_reference,
                        "missing_current": q.missing_current,
                        "out_of_range": q.out_of_range,
                        "new_categories": q.new_categories,
                        "new_category_rows": q.new_category_rows,
                    }
                    for name, q in result.quality.items()
                },
            },
            "rows": {"reference": result.rows_reference, "current": result.rows_current},
            "model_version": reference.get("model_version"),
            "time_window": current.get("window"),
            "reference": reference,
            "current": current,
            "ignored_columns": result.ignored_columns,
            "evidently_version": evidently_version,
            "mlflow_run_id": mlflow_run_id,
        }
    )


# HTML ------------------------------------------------------------------------------------------------

_STYLE = """<style>
.drift-summary{font-family:system-ui,sans-serif;margin:16px 24px;color:#222}
.drift-summary table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}
.drift-summary td,.drift-summary th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.drift-summary .bad{background:#fde2e1}.drift-summary .verdict{font-size:18px;font-weight:600}
</style>"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def _summary_section(summary: dict[str, Any]) -> str:
    """A plain-HTML digest above Evidently's widgets: readable even where scripts are blocked."""
    verdict = "Drift detected" if summary["dataset_drift"] else "No dataset drift"
    rows = summary["rows"]
    window = summary.get("time_window") or {}
    lines = [
        '<section class="drift-summary">',
        f'<div class="verdict">{verdict}: {summary["n_drifted"]} of {summary["n_columns"]} columns drifted '
        f"(share {summary['drift_share']:.1%}, retrain above {summary['threshold']:.1%})</div>",
        f"<p>Report {html.escape(summary['report_id'])}, {html.escape(summary['created_at'])}. "
        f"Reference: {html.escape(summary['reference'].get('description', ''))} ({rows['reference']} rows). "
        f"Current: {html.escape(summary['current'].get('description', ''))} ({rows['current']} rows"
        + (f", {_fmt(window.get('first'))} to {_fmt(window.get('last'))}" if window else "")
        + f"). Data quality score {summary['data_quality']['score']:.4f}.</p>",
        "<table><tr><th>column</th><th>type</th><th>method</th><th>score</th><th>threshold</th>"
        "<th>drifted</th></tr>",
    ]
    ordered = sorted(summary["columns"].items(), key=lambda item: (not item[1]["drifted"], item[0]))
    for name, column in ordered:
        css = ' class="bad"' if column["drifted"] else ""
        method = column["method"] or column.get("note") or "-"
        lines.append(
            f"<tr{css}><td>{html.escape(name)}</td><td>{column['type']}</td><td>{html.escape(method)}</td>"
            f"<td>{_fmt(column['score'])}</td><td>{_fmt(column['threshold'])}</td>"
            f"<td>{'yes' if column['drifted'] else 'no'}</td></tr>"
        )
    lines.append("</table>")
    issues = summary["data_quality"]["issues"]
    lines.append("<p>Data quality: " + ("no issue found." if not issues else "</p><ul>"))
    lines += [f"<li>{html.escape(issue)}</li>" for issue in issues]
    lines.append("</ul>" if issues else "</p>")
    lines.append("</section>")
    return "\n".join(lines)


def markdown_summary(summary: dict[str, Any]) -> str:
    """A short Markdown digest (CI job summaries, chat notifications)."""
    verdict = "Drift detected" if summary["dataset_drift"] else "No dataset drift"
    lines = [
        f"### {verdict}: {summary['n_drifted']} of {summary['n_columns']} columns drifted",
        "",
        f"Drift share **{summary['drift_share']:.1%}** (retraining above {summary['threshold']:.1%}); "
        f"data quality score {summary['data_quality']['score']:.4f}; "
        f"{summary['rows']['reference']} reference rows vs {summary['rows']['current']} current rows "
        f"({summary['current'].get('description', '')}); report `{summary['report_id']}`.",
    ]
    drifted = [(name, c) for name, c in summary["columns"].items() if c["drifted"]]
    if drifted:
        lines += ["", "| column | method | score | threshold |", "|---|---|---|---|"]
        lines += [
            f"| {name} | {c['method'] or c.get('note', '-')} | {_fmt(c['score'])} | {_fmt(c['threshold'])} |"
            for name, c in drifted
        ]
    lines += [f"- {issue}" for issue in summary["data_quality"]["issues"]]
    if summary.get("stability"):
        from ml.stability import digest

        lines += [
            "",
            "**Stability (PSI / CSI)**",
            "",
            *(f"- {line.strip()}" for line in digest(summary["stability"])),
        ]
    return "\n".join(lines) + "\n"


def render_html(result: DriftResult, summary: dict[str, Any], extra: str = "") -> str:
    """Evidently's self-contained report (its script and data inline) with our digest (and `extra`, an
    escaped fragment such as the stability tables) on top."""
    page = escape_script_data(result.snapshot.get_html_str(as_iframe=False))
    return page.replace("<body>", "<body>\n" + _STYLE + _summary_section(summary) + extra, 1)


# Evidently writes the report's data as JSON in a <script> block in <head>, with json.dumps, which
# leaves "</script>" inside a string as it is: a category value could end the block and run its own.
_DATA_START = re.compile(r"<script>\s*var metric_[0-9a-f]+ = ")
_DATA_END = "\n</script>"  # a raw newline: never inside a JSON string, so never from the data


def escape_script_data(page: str) -> str:
    """The page with <, > and & inside Evidently's data block written as JSON \\u escapes (the same
    values to the script, no markup to the HTML parser). Refuses a page whose block it cannot find."""
    start = _DATA_START.search(page)
    end = page.find(_DATA_END, start.end()) if start else -1
    if start is None or end < 0:
        raise ValueError("Evidently's data block was not found: the report cannot be escaped")
    data = page[start.end() : end]
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        data = data.replace(char, escaped)
    return page[: start.end()] + data + page[end:]


# files -----------------------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_report(reports_dir: Path, summary: dict[str, Any], page: str) -> dict[str, Path]:
    """The timestamped HTML and JSON, then `latest.html` and `latest.json` (JSON last: it names the report)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = report_paths(reports_dir, summary["report_id"])
    text = json.dumps(summary, indent=2, allow_nan=False)
    _write_atomic(html_path, page)
    _write_atomic(json_path, text)
    _write_atomic(reports_dir / LATEST_HTML, page)
    _write_atomic(reports_dir / LATEST_JSON, text)
    return {"html": html_path, "json": json_path}


def update_trigger(reports_dir: Path, summary: dict[str, Any]) -> bool:
    """Create the retrain trigger when the dataset drifted, remove it when not; True when it exists."""
    path = reports_dir / TRIGGER_FILE
    if not summary["dataset_drift"]:
        path.unlink(missing_ok=True)
        return False
    trigger = {
        key: summary[key]
        for key in ("report_id", "created_at", "drift_share", "threshold", "drifted_columns", "model_version")
    }
    trigger["reference"], trigger["current"] = summary["reference"], summary["current"]
    _write_atomic(path, json.dumps(trigger, indent=2))
    return True


def read_trigger(reports_dir: Path) -> dict[str, Any] | None:
    path = reports_dir / TRIGGER_FILE
    return json.loads(path.read_text()) if path.exists() else None


def read_latest(reports_dir: Path) -> dict[str, Any] | None:
    """The latest check's summary (None before the first check; it is replaced, never removed)."""
    try:
        return json.loads((reports_dir / LATEST_JSON).read_text())
    except FileNotFoundError:
        return None


# MLflow ----------------------------------------------------------------------------------------------


def _warn(message: str) -> None:
    print(f"[drift] warning: {message}", file=sys.stderr, flush=True)


def start_mlflow_run(tracking_uri: str, experiment: str, report_id: str) -> str | None:
    """Open the monitoring run first, so the summary can name it; None (with a warning) if MLflow fails."""
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        return client.create_run(experiment_id, run_name=f"drift-{report_id}").info.run_id
    except Exception as exc:  # any MLflow failure: the local report still counts
        _warn(f"could not start an MLflow run at {tracking_uri} ({exc}); the report is kept locally only")
        return None


def finish_mlflow_run(
    tracking_uri: str, run_id: str, summary: dict[str, Any], paths: dict[str, Path]
) -> bool:
    """Metrics, tags and the two files on the monitoring run; False (with a warning) if MLflow fails."""
    import tempfile

    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    now = int(datetime.now(UTC).timestamp() * 1000)
    metrics = {
        "drift_share": summary["drift_share"],
        "drifted_columns": summary["n_drifted"],
        "data_quality_score": summary["data_quality"]["score"],
        "rows_reference": summary["rows"]["reference"],
        "rows_current": summary["rows"]["current"],
        "dataset_drift": float(summary["dataset_drift"]),
        "threshold": summary["threshold"],  # the verdict's yardstick, for readers of the runs alone
    }
    if summary["prediction_drift"] and summary["prediction_drift"]["score"] is not None:
        metrics["prediction_drift_score"] = summary["prediction_drift"]["score"]
    tags = {
        "report_id": summary["report_id"],
        "model_name": str(summary["reference"].get("model_name") or ""),
        "model_version": str(summary["model_version"] or ""),
        "source": summary["current"]["source"],
        "reference_source": summary["reference"]["source"],
        "dataset_drift": str(summary["dataset_drift"]).lower(),
    }
    try:
        client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
            tags=[RunTag(key, value) for key, value in tags.items()],
        )
        with tempfile.TemporaryDirectory() as tmp:
            for source, name in ((paths["html"], DRIFT_HTML_ARTIFACT), (paths["json"], DRIFT_JSON_ARTIFACT)):
                copy = Path(tmp) / name
                copy.write_bytes(source.read_bytes())
                client.log_artifact(run_id, str(copy))
        client.set_terminated(run_id, "FINISHED")
        return True
    except Exception as exc:  # the local report is written; say so and carry on
        _warn(f"could not log the report to MLflow run {run_id} ({exc})")
        with contextlib.suppress(Exception):  # MLflow is down: nothing more to do
            client.set_terminated(run_id, "FAILED")
        return False
