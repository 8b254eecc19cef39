"""Model performance: realized (from outcomes) and estimated (before them) per version and cohort,
against training; decisions awaiting outcomes; calibration; and an upload of outcomes."""

from __future__ import annotations

import streamlit as st

from api.identity_roles import Permission
from app import performance_view
from app.api_client import ApiError
from app.components import feedback, session, sidebar

st.set_page_config(page_title="Performance", page_icon=":material/monitoring:", layout="wide")
identity = sidebar.render()
st.title("Performance")
client = session.api_client()
report = feedback.load(client.performance)

cols = st.columns(3)
cols[0].metric("Decisions logged", f"{report['decisions']:,}")
cols[1].metric("Approved, awaiting an outcome", f"{report['awaiting_outcomes']:,}")
cols[2].metric("Outcomes count after", f"{report['maturity_days']} days")
st.caption(report["selection_bias"])

versions = report["versions"]
if not versions:
    st.info("No decision has been logged yet: score some clients, then record their outcomes below.")
else:
    labels = [f"v{v['model_version']}" for v in versions]
    chosen = st.selectbox("Model version", labels, index=len(labels) - 1)
    version = versions[labels.index(chosen)]
    if version["training"] is None:
        st.warning("The training figures of this version are not available (MLflow unreachable).")
    left, right = st.columns(2)
    left.plotly_chart(
        performance_view.over_cohorts(version, "roc_auc", "ROC AUC among approved clients", percent=False),
        width="stretch",
    )
    right.plotly_chart(
        performance_view.over_cohorts(
            version, "bad_rate", "Default rate among approved clients", percent=True
        ),
        width="stretch",
    )
    show = st.success if version["estimate_trusted"] else st.warning
    show(version["estimate_note"], icon=":material/insights:")
    st.dataframe(performance_view.cohort_table(version), hide_index=True, width="stretch")
    if version["calibration"]:
        st.plotly_chart(performance_view.calibration_chart(version["calibration"]), width="stretch")
    else:
        st.info("This version's training run logged no calibration curve.")

st.subheader("Record outcomes")
if not identity.may(Permission.POST_OUTCOMES):
    st.info("Recording outcomes needs the outcomes or lead role.", icon=":material/lock:")
else:
    st.caption(
        "A CSV with `request_id` and `row` (as the API answered them) or `client_id`, `defaulted` "
        "(1 or 0) and `observed_at` (a date). Sending the same file twice changes nothing; a changed "
        "outcome is kept as a correction."
    )
    upload = st.file_uploader("Outcomes CSV", type="csv")
    if upload is not None and st.button("Record the outcomes", type="primary"):
        try:
            result = client.post_outcomes_csv(upload.name, upload.getvalue())
        except ApiError as exc:
            if exc.status != 422 or not isinstance(exc.detail, dict):
                feedback.stop_with_error(exc)
            result = {"refused": exc.detail.get("detail", "refused"), "errors": exc.detail.get("errors")}
        st.session_state["outcomes_upload"] = (upload.name, result)
    if "outcomes_upload" in st.session_state:
        name, result = st.session_state["outcomes_upload"]
        if "refused" in result:
            st.error(f"{name}: nothing was recorded ({result['refused']}).")
        else:
            st.success(
                f"{name}: {result['stored']:,} new, {result['corrected']:,} corrected, "
                f"{result['unchanged']:,} already known, {result['rejected']:,} refused."
            )
        errors = performance_view.upload_errors(result)
        if not errors.empty:
            st.caption("Refused lines are numbered as in the file: the header is line 1.")
            st.dataframe(errors, hide_index=True, width="stretch")
