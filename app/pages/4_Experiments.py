"""Compare training runs from MLflow: parameters and metrics side by side, the best highlighted,
metrics bars, a parameter against AUC, and the test ROC curves overlaid."""

from __future__ import annotations

import streamlit as st

from app import experiments, mlflow_reader
from app.components import charts, feedback, session, sidebar

st.set_page_config(page_title="Experiments", page_icon=":material/science:", layout="wide")
sidebar.render()
st.title("Experiments")
config = session.settings()

runs = feedback.load(mlflow_reader.runs, config.mlflow_tracking_uri, config.experiment_name)
if runs.empty:
    st.info(f"No finished run in the MLflow experiment {config.experiment_name!r} yet.")
    st.stop()
labels = dict(zip(experiments.run_label(runs), runs["run_id"], strict=True))
chosen = st.multiselect("Runs to compare", list(labels), default=list(labels)[:5])
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
selected = runs[runs["run_id"].isin([labels[name] for name in chosen])]
table = experiments.comparison_table(selected)
metrics = [m for m in experiments.KEY_METRICS if m in table.columns]
st.dataframe(experiments.highlight_best(table, metrics), hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.metric_bars(table, [m for m in metrics if "cost" not in m]), width="stretch")
with right:
    params = experiments.numeric_params(table, metrics)
    if params and "test_roc_auc" in table:
        param = st.selectbox("Parameter", params)
        st.plotly_chart(charts.param_scatter(table, param, "test_roc_auc"), width="stretch")
    else:
        st.caption("The selected runs share all their numeric parameters: nothing to plot against AUC.")

curves = {}
for label, run_id in zip(table["run"], selected["run_id"], strict=True):
    curve = feedback.try_load("A ROC curve", mlflow_reader.roc_curve, config.mlflow_tracking_uri, run_id)
    if curve:
        curves[label] = curve
if curves:
    st.plotly_chart(charts.roc_overlay(curves), width="stretch")
