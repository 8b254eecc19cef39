"""Compare training runs from MLflow: each run named by its registered version and alias with a link to
MLflow, the key metrics first (best marked, 4 significant digits), training rows and the parameters
that differ, per-metric bars on their own scale, a parameter against AUC, and the test ROC and
precision-recall curves side by side."""

from __future__ import annotations

import streamlit as st

from app import experiments, mlflow_reader
from app.components import charts, feedback, session, sidebar

st.set_page_config(page_title="Experiments", page_icon=":material/science:", layout="wide")
sidebar.render()
st.title("Experiments")
config = session.settings()
uri = config.mlflow_tracking_uri

runs = feedback.load(mlflow_reader.runs, uri, config.experiment_name)
if runs.empty:
    st.info(f"No finished run in the MLflow experiment {config.experiment_name!r} yet.")
    st.stop()
registry = feedback.try_load("The registry", mlflow_reader.registry_overview, uri, config.model_name)
registered = experiments.registered_labels(registry["versions"]) if registry else {}
labels = dict(zip(experiments.run_label(runs, registered), runs["run_id"], strict=True))
chosen = st.multiselect("Runs to compare", list(labels), default=list(labels)[:5])
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
selected = runs[runs["run_id"].isin([labels[name] for name in chosen])].reset_index(drop=True)
table = experiments.comparison_table(selected, registered, uri)
metrics = [label for key, label in experiments.METRIC_LABELS.items() if label in table.columns]
st.caption(
    "Best value of each metric in green (highest AUC and KS; lowest cost and refusal rate). "
    "Parameters are shown when they differ between the selected runs."
)
st.dataframe(
    experiments.highlight_best(table, metrics),
    hide_index=True,
    width="stretch",
    column_config={"MLflow": st.column_config.LinkColumn("MLflow", display_text="open run")},
)
with st.expander("Every other metric"):
    st.dataframe(experiments.other_metrics(selected), hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.metric_bars(table, metrics), width="stretch")
with right:
    params = experiments.numeric_params(table, metrics)
    if params and "test AUC" in table:
        param = st.selectbox("Parameter", params)
        st.plotly_chart(charts.param_scatter(table, param, "test AUC"), width="stretch")
    else:
        st.caption("The selected runs share all their numeric parameters: nothing to plot against AUC.")

rocs, prs = {}, {}
for label, run_id in zip(table["run"], selected["run_id"], strict=True):
    found = feedback.try_load("A run's curves", mlflow_reader.curves, uri, run_id) or {}
    if "roc" in found:
        rocs[label] = found["roc"]
    if "pr" in found:
        prs[label] = found["pr"]
left, right = st.columns(2)
if rocs:
    left.plotly_chart(charts.roc_overlay(rocs), width="stretch")
if prs:
    right.plotly_chart(charts.pr_overlay(prs), width="stretch")
elif rocs:
    right.caption("These runs logged no precision-recall curve (runs trained before it was logged).")
