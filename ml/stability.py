"""Population and characteristic stability (the scorecard industry's PSI and CSI).

PSI compares the share of clients in each score band between a reference (the training sample the
champion was fitted on) and a current window; CSI does the same per feature, over the reference's
deciles plus a bin for missing values (categories are bins of their own). Both are
sum((current - reference) * ln(current / reference)) over the bins, a share of 0 counted as 0.01 %.
The conventional reading: below 0.10 stable, 0.10 to 0.25 watch, above 0.25 act.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.config import StabilityParams
from ml.features import ENGINEERED, FeatureBuilder
from ml.schema import FeatureSchema, encode_frame

SHARE_FLOOR = 1e-4
STABLE, WATCH, ACT = "stable", "watch", "act"
BAND_COLOURS = {STABLE: "#d9f2d9", WATCH: "#fff2bf", ACT: "#f8d0d0"}


def band_text(params: StabilityParams) -> dict[str, str]:
    """The bands stated as such (shown next to every table)."""
    return {
        STABLE: f"below {params.watch:.2f}: stable",
        WATCH: f"{params.watch:.2f} to {params.act:.2f}: watch",
        ACT: f"above {params.act:.2f}: act",
    }


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    reference = np.asarray(reference_counts, dtype=float)
    current = np.asarray(current_counts, dtype=float)
    ref_share = np.maximum(reference / max(reference.sum(), 1.0), SHARE_FLOOR)
    cur_share = np.maximum(current / max(current.sum(), 1.0), SHARE_FLOOR)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def band(index: float, params: StabilityParams) -> str:
    if index > params.act:
        return ACT
    return WATCH if index >= params.watch else STABLE


@dataclass
class BinShare:
    label: str
    reference: float  # share of the reference rows in this bin
    current: float


@dataclass
class ScoreStability:
    psi: float
    band: str
    bins: list[BinShare]
    mean_reference: float
    mean_current: float


@dataclass
class FeatureStability:
    feature: str
    kind: str  # numeric | categorical | engineered
    csi: float
    band: str
    missing_reference: float
    missing_current: float
    out_of_range: int  # current values outside the range seen in training
    training_range: tuple[float, float] | None = None
    made_of: list[str] = field(default_factory=list)

    @property
    def missing_change(self) -> float:
        return self.missing_current - self.missing_reference


@dataclass
class StabilityResult:
    rows_reference: int
    rows_current: int
    bands: dict[str, str]
    features: list[FeatureStability]  # largest CSI first
    score: ScoreStability | None = None

    def counts(self) -> dict[str, int]:
        return {name: sum(1 for f in self.features if f.band == name) for name in (STABLE, WATCH, ACT)}

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, feature in zip(data["features"], self.features, strict=True):
            item["missing_change"] = feature.missing_change
        data["counts"] = self.counts()
        return data


def _quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return np.array([-np.inf, np.inf])
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.r_[-np.inf, inner, np.inf]


def _numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (left-closed, as np.histogram) and, last, the missing values."""
    finite = np.isfinite(values)
    binned = np.searchsorted(edges[1:-1], values[finite], side="right")
    return np.r_[np.bincount(binned, minlength=len(edges) - 1), np.sum(~finite)]


def _category_counts(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    known = np.searchsorted(categories, values[finite])
    known = known[
        (known < len(categories)) & (categories[np.minimum(known, len(categories) - 1)] == values[finite])
    ]
    other = finite.sum() - len(known)
    return np.r_[np.bincount(known, minlength=len(categories)), other, np.sum(~finite)]


def column_stability(
    name: str,
    kind: str,
    reference: np.ndarray,
    current: np.ndarray,
    params: StabilityParams,
    training_range: tuple[float, float] | None = None,
) -> FeatureStability:
    """CSI, missing shares and out-of-range count of one column (numeric codes for categories)."""
    if kind == "categorical":
        categories = np.unique(reference[np.isfinite(reference)])
        ref_counts, cur_counts = (
            _category_counts(reference, categories),
            _category_counts(current, categories),
        )
    else:
        edges = _quantile_edges(reference, params.feature_bins)
        ref_counts, cur_counts = _numeric_counts(reference, edges), _numeric_counts(current, edges)
    index = psi(ref_counts, cur_counts)
    out_of_range = 0
    if kind != "categorical" and training_range is not None:
        low, high = training_range
        finite = current[np.isfinite(current)]
        out_of_range = int(np.sum((finite < low) | (finite > high)))
    return FeatureStability(
        feature=name,
        kind=kind,
        csi=index,
        band=band(index, params),
        missing_reference=float(np.mean(~np.isfinite(reference))) if len(reference) else 0.0,
        missing_current=float(np.mean(~np.isfinite(current))) if len(current) else 0.0,
        out_of_range=out_of_range,
        training_range=training_range,
    )


def score_stability(reference: np.ndarray, current: np.ndarray, params: StabilityParams) -> ScoreStability:
    """PSI of the scores over score bands cut at the reference's quantiles."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = _quantile_edges(reference, params.score_bands)
    ref_counts = _numeric_counts(reference, edges)[:-1]
    cur_counts = _numeric_counts(current, edges)[:-1]
    shown = np.r_[np.nanmin(np.r_[reference, current]), edges[1:-1], np.nanmax(np.r_[reference, current])]
    labels = [f"{shown[i]:.1%} to {shown[i + 1]:.1%}" for i in range(len(shown) - 1)]
    index = psi(ref_counts, cur_counts)
    ref_share = ref_counts / max(ref_counts.sum(), 1)
    cur_share = cur_counts / max(cur_counts.sum(), 1)
    return ScoreStability(
        psi=index,
        band=band(index, params),
        bins=[
            BinShare(label, float(r), float(c))
            for label, r, c in zip(labels, ref_share, cur_share, strict=True)
        ],
        mean_reference=float(np.nanmean(reference)),
        mean_current=float(np.nanmean(current)),
    )


def assess(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    params: StabilityParams,
    reference_scores: np.ndarray | None = None,
    current_scores: np.ndarray | None = None,
) -> StabilityResult:
    """CSI of every model feature (raw and engineered, as the model sees them) and PSI of the scores."""
    builder = FeatureBuilder(schema)
    ref_matrix = builder.build(encode_frame(reference, schema))
    cur_matrix = builder.build(encode_frame(current, schema))
    raw_names = set(schema.names())
    features = []
    for i, name in enumerate(builder.feature_names):
        if name in raw_names:
            spec = schema.spec(name)
            kind = spec.kind
            span = (spec.min, spec.max) if spec.min is not None and spec.max is not None else None
            inputs: list[str] = []
        else:
            kind = "engineered"
            finite = ref_matrix[:, i][np.isfinite(ref_matrix[:, i])]
            span = (float(finite.min()), float(finite.max())) if finite.size else None
            inputs = list(next(f.inputs for f in ENGINEERED if f.name == name))
        item = column_stability(name, kind, ref_matrix[:, i], cur_matrix[:, i], params, span)
        item.made_of = inputs
        features.append(item)
    features.sort(key=lambda f: f.csi, reverse=True)
    score = None
    if reference_scores is not None and current_scores is not None and len(current_scores):
        score = score_stability(reference_scores, current_scores, params)
    return StabilityResult(len(reference), len(current), band_text(params), features, score)


def digest(summary: dict[str, Any], limit: int = 5) -> list[str]:
    """Lines for the CLI and Markdown digests, from `StabilityResult.as_dict()` (a drift summary's
    "stability"): the score PSI and the least stable features, in words."""
    lines = []
    bands, score = summary["bands"], summary.get("score")
    if score:
        lines.append(f"score PSI {score['psi']:.3f}: {score['band']} ({bands[score['band']]})")
    counts = summary["counts"]
    lines.append(f"features (CSI): {counts[ACT]} act, {counts[WATCH]} watch, {counts[STABLE]} stable")
    for item in summary["features"][:limit]:
        if item["band"] == STABLE:
            break
        extra = f", {item['out_of_range']} values outside the training range" if item["out_of_range"] else ""
        lines.append(
            f"  {item['feature']}: CSI {item['csi']:.3f} ({item['band']}), missing "
            f"{item['missing_reference']:.1%} -> {item['missing_current']:.1%}{extra}"
        )
    return lines


def to_html(result: StabilityResult) -> str:
    """An HTML fragment (every value escaped): the score-band bars and the CSI table coloured by band."""
    e = html.escape
    parts = [f"<p>{' · '.join(e(text) for text in result.bands.values())}</p>"]
    if result.score:
        score = result.score
        parts.append(
            f"<h3>Score distribution: PSI {score.psi:.3f} "
            f'<span style="background:{BAND_COLOURS[score.band]}">{e(score.band)}</span></h3>'
        )
        peak = max(max(b.reference, b.current) for b in score.bins) or 1.0
        rows = "".join(
            f"<tr><td>{e(b.label)}</td>"
            f'<td><div style="background:#7aa6d6;height:9px;width:{200 * b.reference / peak:.0f}px"></div>'
            f'<div style="background:#e39b5b;height:9px;width:{200 * b.current / peak:.0f}px"></div></td>'
            f"<td>{b.reference:.1%}</td><td>{b.current:.1%}</td></tr>"
            for b in score.bins
        )
        parts.append(
            "<table><tr><th>score band</th><th>share (blue reference, orange current)</th>"
            f"<th>reference</th><th>current</th></tr>{rows}</table>"
        )
    rows = "".join(
        f'<tr style="background:{BAND_COLOURS[f.band]}"><td>{e(f.feature)}</td><td>{e(f.kind)}</td>'
        f"<td>{f.csi:.3f}</td><td>{e(f.band)}</td><td>{f.missing_reference:.1%}</td>"
        f"<td>{f.missing_current:.1%}</td><td>{f.out_of_range}</td></tr>"
        for f in result.features
    )
    parts.append(
        "<h3>Characteristic stability (CSI per feature)</h3><table><tr><th>feature</th><th>kind</th>"
        "<th>CSI</th><th>band</th><th>missing (reference)</th><th>missing (current)</th>"
        f"<th>values outside training range</th></tr>{rows}</table>"
    )
    return "\n".join(parts)
