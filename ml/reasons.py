"""Reason codes: the main reasons a score was pushed towards refusal, in words an applicant can read.

A refused applicant is owed the principal reasons (adverse-action notices, GDPR art. 22). They come
from the model's own contributions (LightGBM's TreeSHAP, `ScoringModel.contributions`): features
that share a reason code are summed, so a notice never cites "low external score" three times;
only positive sums (towards default) count, largest first. Excluded attributes (params.yaml
`reasons.excluded`, by default gender and age) are never cited, and neither is an engineered
feature made from one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import yaml

from ml.features import ENGINEERED

CATALOGUE_FILE = "reason_codes.yaml"
DEFAULT_MAX_REASONS = 4
# Which rows get reason codes: refused ones (the default), every row, or none (the API's `reasons` flag).
ReasonMode = Literal["refusals", "all", "none"]


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    text: str


@dataclass(frozen=True)
class Reason:
    """One reason for one decision; `features` are the raw input columns behind it."""

    code: str
    text: str
    features: tuple[str, ...]
    contribution: float  # log-odds pushed towards refusal (> 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "features": list(self.features),
            "contribution": round(self.contribution, 4),
        }


def fallback_entry(feature: str) -> CatalogueEntry:
    """A readable reason for a column the catalogue does not know (any other CSV)."""
    words = " ".join(feature.replace("_", " ").replace("-", " ").split()).lower() or feature
    return CatalogueEntry(
        code=feature.upper(), text=f"{words[:1].upper()}{words[1:]} weighed towards refusal"
    )


@lru_cache
def load_catalogue() -> dict[str, CatalogueEntry]:
    """The shipped catalogue (package data), feature name → entry; one sentence per code."""
    raw = yaml.safe_load(resources.files("ml").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))
    catalogue = {name: CatalogueEntry(str(item["code"]), str(item["text"])) for name, item in raw.items()}
    texts: dict[str, str] = {}
    for name, entry in catalogue.items():
        if texts.setdefault(entry.code, entry.text) != entry.text:
            raise ValueError(f"{CATALOGUE_FILE}: code {entry.code} has two sentences (at {name})")
    return catalogue


def made_of(feature: str) -> tuple[str, ...]:
    """The raw columns a model feature is computed from (itself for a raw column)."""
    for engineered in ENGINEERED:
        if engineered.name == feature:
            return engineered.inputs
    return (feature,)


class ReasonExplainer:
    """Turns contribution rows into reasons; built once per model version (cheap per row after that)."""

    def __init__(
        self,
        feature_names: Sequence[str],
        excluded: Iterable[str] = (),
        max_reasons: int = DEFAULT_MAX_REASONS,
        catalogue: dict[str, CatalogueEntry] | None = None,
    ) -> None:
        catalogue = load_catalogue() if catalogue is None else catalogue
        excluded = set(excluded)
        self.max_reasons = max_reasons
        self.excluded_features = [f for f in feature_names if excluded.intersection(made_of(f))]
        codes: dict[str, int] = {}
        self._entries: list[CatalogueEntry] = []
        self._inputs: list[list[str]] = []
        columns = []
        for feature in feature_names:
            if feature in self.excluded_features:
                columns.append(-1)
                continue
            entry = catalogue.get(feature) or fallback_entry(feature)
            if entry.code not in codes:
                codes[entry.code] = len(self._entries)
                self._entries.append(entry)
                self._inputs.append([])
            index = codes[entry.code]
            self._inputs[index].extend(c for c in made_of(feature) if c not in self._inputs[index])
            columns.append(index)
        membership = np.zeros((len(feature_names), len(self._entries)))
        for row, index in enumerate(columns):
            if index >= 0:
                membership[row, index] = 1.0
        self._membership = membership

    def explain(self, contributions: np.ndarray) -> list[list[Reason]]:
        """Reasons per row of `contributions` (n × features, or n × features+1 with the base value)."""
        contributions = np.atleast_2d(contributions)
        width = self._membership.shape[0]
        per_code = contributions[:, :width] @ self._membership
        reasons = []
        for row in per_code:
            order = np.argsort(-row, kind="stable")[: self.max_reasons]
            reasons.append(
                [
                    Reason(
                        self._entries[i].code,
                        self._entries[i].text,
                        tuple(self._inputs[i]),
                        float(row[i]),
                    )
                    for i in order
                    if row[i] > 0
                ]
            )
        return reasons

    def explain_dicts(self, contributions: np.ndarray) -> list[list[dict[str, Any]]]:
        """`explain` as the answers' dicts (`Reason.as_dict`), ranked for all rows at once and built
        without Reason objects: a batch's refusals (35,000 of 100,000 rows) took ~5 s the other way."""
        contributions = np.atleast_2d(contributions)
        per_code = contributions[:, : self._membership.shape[0]] @ self._membership
        order = np.argsort(-per_code, axis=1, kind="stable")[:, : self.max_reasons]
        values = np.take_along_axis(per_code, order, axis=1)
        entries = [
            (entry.code, entry.text, list(inputs))  # one list per code, shared by the rows' answers
            for entry, inputs in zip(self._entries, self._inputs, strict=True)
        ]
        return [
            [
                {
                    "code": entries[i][0],
                    "text": entries[i][1],
                    "features": entries[i][2],
                    "contribution": round(value, 4),
                }
                for i, value in zip(codes, row, strict=True)
                if value > 0
            ]
            for codes, row in zip(order.tolist(), values.tolist(), strict=True)
        ]


class PathContributions:
    """Per-feature contributions by decision path (Saabas): in each tree, the change of the node value
    along the client's path, credited to the feature of each split; the root values sum to the base.

    Like TreeSHAP an exact decomposition of the log-odds, but with each leaf's path credited once
    in advance, a client costs one leaf lookup per tree (LightGBM's `pred_leaf`) and a table sum:
    about one more predict, where TreeSHAP costs ~8 (bench/bench_reasons.py). Used for reason codes on
    the scoring path; /explain keeps TreeSHAP.
    """

    def __init__(self, booster: Any, n_features: int) -> None:
        self.booster = booster
        trees = booster.dump_model()["tree_info"]
        tables, offsets, base = [], [], 0.0
        for tree in trees:
            root = tree["tree_structure"]
            table = np.zeros((max(tree["num_leaves"], 1), n_features))
            base += float(root.get("internal_value", root.get("leaf_value", 0.0)))
            stack = [(root, np.zeros(n_features))]
            while stack:
                node, path = stack.pop()
                if "leaf_index" in node or "split_feature" not in node:
                    table[node.get("leaf_index", 0)] = path
                    continue
                for child in (node["left_child"], node["right_child"]):
                    value = child.get("internal_value", child.get("leaf_value", 0.0))
                    step = path.copy()
                    step[node["split_feature"]] += value - node["internal_value"]
                    stack.append((child, step))
            offsets.append(sum(len(t) for t in tables))
            tables.append(table)
        from ml.single_row import SingleRowPredictor  # LightGBM's C API: only where a booster is

        self._single = SingleRowPredictor(booster, n_features, leaves=True) if trees else None
        self.table = np.vstack(tables) if tables else np.zeros((0, n_features))
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.base = base

    def __call__(self, built: np.ndarray) -> np.ndarray:
        """Contributions of the rows of the booster's input matrix: n × (features + 1), base value last
        (the layout of LightGBM's pred_contrib)."""
        if len(built) == 1 and self._single is not None:  # one client: the fast path, one table sum
            path = self.table[self._single.leaves(built) + self.offsets].sum(axis=0)
            return np.append(path, self.base).reshape(1, -1)
        leaves = np.asarray(self.booster.predict(built, pred_leaf=True, num_threads=1), dtype=np.int64)
        leaves = leaves.reshape(len(built), -1) + self.offsets
        # Tree by tree, in the order (and so to the bit) of `table[leaves].sum(axis=1)`, without its
        # rows × trees × features intermediate (215 MB and 2 s for the 15,000 refusals of a 100,000-row batch).
        contributions = np.zeros((len(built), self.table.shape[1]))
        for tree in leaves.T:
            contributions += self.table[tree]
        return np.column_stack([contributions, np.full(len(built), self.base)])


def contributions(booster: Any, paths: PathContributions | None, built: np.ndarray) -> np.ndarray:
    """Per-feature contributions of built rows: decision-path attributions (reasons.method "path") or,
    when `paths` is None, LightGBM's TreeSHAP."""
    if paths is not None:
        return paths(built)
    return np.asarray(booster.predict(built, pred_contrib=True, num_threads=1))


def reasons_by_row(
    explainer: ReasonExplainer,
    contributions_of: Callable[[np.ndarray], np.ndarray],
    decisions: Sequence[str] | np.ndarray,
    mode: ReasonMode,
) -> list[list[dict[str, Any]] | None]:
    """Reason codes for the rows `mode` names, None for the others. `contributions_of(indices)` gives
    those rows' contributions in one call, so only the rows that get reasons are built and explained
    (the API and score-book both answer this way)."""
    out: list[list[dict[str, Any]] | None] = [None] * len(decisions)
    if mode == "none":
        return out
    refused = np.asarray(decisions) == "refuse"
    wanted = np.arange(len(decisions)) if mode == "all" else np.flatnonzero(refused)
    if len(wanted):
        found = explainer.explain_dicts(contributions_of(wanted))
        for i, reasons in zip(wanted.tolist(), found, strict=True):
            out[i] = reasons
    return out
