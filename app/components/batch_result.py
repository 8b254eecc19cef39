"""A scored batch, headed by its file: what the file lacked, the summary next to the rows not scored
(downloadable), then the scored table, the score histogram and the download."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app import score_view
from app.batch import BatchOutcome
from app.components import charts
from app.components.formatting import plain


@dataclass(frozen=True)
class BatchRun:
    """A batch result and the upload it belongs to (Streamlit's file id, its name and rows)."""

    file_key: str | None
    filename: str
    rows: int
    outcome: BatchOutcome


def render(run: BatchRun, id_column: str | None = None) -> None:
    outcome = run.outcome
    scored, errors = outcome.scored, outcome.errors
    versions = ", ".join(f"v{version}" for version in sorted(outcome.model_versions))
    st.subheader(f"Results for {plain(run.filename)}", divider="gray")
    st.caption(f"{run.rows:,} rows, scored by model {versions}")
    warning = score_view.missing_warning(
        {"missing_features": outcome.missing_features, "missing_importance": outcome.missing_importance}
    )
    if warning:
        st.warning(
            f"The file's header lacks some of the model's features. {plain(warning)}",
            icon=":material/warning:",
        )
    approved = int((scored["decision"] == "approve").sum()) if not scored.empty else 0
    summary, problems = st.columns([1, 2]) if not errors.empty else (st.container(), None)
    with summary:
        cols = st.columns(2)
        cols[0].metric("Scored rows", f"{len(scored):,}")
        cols[1].metric("Rows with errors", f"{errors['line'].nunique() if not errors.empty else 0:,}")
        cols = st.columns(2)
        cols[0].metric("Approved", f"{approved:,}")
        cols[1].metric("Refused", f"{len(scored) - approved:,}")
    if problems is not None:
        with problems:
            st.markdown("**Rows not scored**")
            st.caption(
                "Lines are numbered as in the file and in a spreadsheet: the header is line 1"
                + (f"; {id_column} is the client's id." if id_column and id_column in errors.columns else ".")
            )
            st.dataframe(errors, hide_index=True, width="stretch")
            st.download_button(
                "Download the rows not scored",
                errors.to_csv(index=False).encode(),
                file_name=f"{Path(run.filename).stem}_not_scored.csv",
                mime="text/csv",
            )
    if not scored.empty:
        st.dataframe(scored, hide_index=True, width="stretch")
        if outcome.threshold is not None:
            st.plotly_chart(charts.score_histogram(scored["probability"], outcome.threshold), width="stretch")
        st.download_button(
            "Download the scored CSV",
            scored.to_csv(index=False).encode(),
            file_name=f"{Path(run.filename).stem}_scored.csv",
            mime="text/csv",
            type="primary",
        )
