"""A scored batch: counts, the scored table, the score histogram, refused rows, the download."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.batch import BatchOutcome
from app.components import charts


def render(filename: str, outcome: BatchOutcome) -> None:
    scored, errors = outcome.scored, outcome.errors
    approved = int((scored["decision"] == "approve").sum()) if not scored.empty else 0
    cols = st.columns(4)
    cols[0].metric("Scored rows", f"{len(scored):,}")
    cols[1].metric("Approved", f"{approved:,}")
    cols[2].metric("Refused", f"{len(scored) - approved:,}")
    cols[3].metric("Rows with errors", f"{errors['line'].nunique() if not errors.empty else 0:,}")
    if not scored.empty:
        st.dataframe(scored, hide_index=True, width="stretch")
        if outcome.threshold is not None:
            st.plotly_chart(charts.score_histogram(scored["probability"], outcome.threshold), width="stretch")
        st.download_button(
            "Download the scored CSV",
            scored.to_csv(index=False).encode(),
            file_name=f"{Path(filename).stem}_scored.csv",
            mime="text/csv",
            type="primary",
        )
    if not errors.empty:
        st.subheader("Rows not scored")
        st.caption("Lines are numbered as in the file and in a spreadsheet: the header is line 1.")
        st.dataframe(errors, hide_index=True, width="stretch")
