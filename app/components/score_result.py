"""One client's result, headed by whose it is: what was absent, the decision in a sentence, the
probability against the threshold (both in %), the reasons, and why in percentage points."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app import score_view
from app.api_client import ApiClient, ApiError, ApiUnavailableError
from app.components import charts, feedback
from app.components.formatting import plain

ANCHOR = "score-result"


@dataclass(frozen=True)
class ScoredClient:
    """A result and the input it belongs to: `source` is the picked client's key, `label` names it."""

    source: str
    label: str
    features: dict[str, Any]
    prediction: dict[str, Any] | None = None
    explanation: dict[str, Any] | None = None
    refusal: dict[str, Any] | None = None  # the API's 4xx body when it would not score the client


def score(client: ApiClient, source: str, label: str, features: dict[str, Any]) -> ScoredClient:
    """Score and explain; a 4xx (the client cannot be scored as entered) is a result, not a page error."""
    try:
        prediction = client.predict(features)
    except ApiUnavailableError as exc:
        feedback.stop_with_error(exc)
    except ApiError as exc:
        if exc.status is None or exc.status >= 500:
            feedback.stop_with_error(exc)
        body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.message}
        return ScoredClient(source, label, features, refusal=body)
    explanation = feedback.try_load("The explanation", client.explain, features)
    return ScoredClient(source, label, features, prediction, explanation)


def render(result: ScoredClient) -> None:
    st.subheader(f"Result for {plain(result.label)}", anchor=ANCHOR, divider="gray")
    _scroll_into_view(str((result.prediction or {}).get("request_id") or result.source))
    st.caption(
        f"Scored with the {len(result.features)} values in the form when *Score this client* was pressed."
    )
    if result.refusal is not None:
        _render_refusal(result.refusal)
    elif result.prediction is not None:
        _render_prediction(result.prediction, result.explanation)
        with st.expander(f"The values scored ({len(result.features)} entered)"):
            entered = pd.DataFrame(
                {"feature": list(result.features), "value": [str(v) for v in result.features.values()]}
            )
            st.dataframe(entered, hide_index=True, width="stretch")


def _render_refusal(body: dict[str, Any]) -> None:
    fields = [str(item.get("field")) for item in body.get("errors") or [] if item.get("field")]
    st.error(f"**Not scored.** {plain(str(body.get('detail', '')))}", icon=":material/block:")
    if fields:
        st.markdown("Fill in: " + plain(", ".join(fields[:20])))


def _render_prediction(prediction: dict[str, Any], explanation: dict[str, Any] | None) -> None:
    probability, threshold = prediction["probability"], prediction["threshold"]
    decision = prediction["decision"]
    warning = score_view.missing_warning(prediction)
    if warning:
        st.warning(plain(warning), icon=":material/warning:")
    show = st.success if decision == "approve" else st.error
    show(f"**{score_view.decision_sentence(probability, threshold, decision)}**", icon=":material/gavel:")
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(charts.probability_gauge(probability, threshold), width="stretch")
    with right:
        cols = st.columns(3)
        cols[0].metric("Probability of default", score_view.percent(probability))
        cols[1].metric("Threshold", score_view.percent(threshold))
        cols[2].metric("Risk band", str(prediction.get("risk_band", "-")))
        st.caption(f"Model v{prediction.get('model_version')} - request {prediction.get('request_id')}")
        render_reasons(prediction)
    if explanation:
        _render_explanation(explanation, probability)


def _render_explanation(explanation: dict[str, Any], probability: float) -> None:
    base, steps = score_view.probability_steps(explanation, probability)
    st.markdown("**Why: each feature's push on the probability of default, in percentage points**")
    st.caption(
        f"From the model's average {score_view.percent(base)} to this client's {score_view.percent(probability)}: "
        "+ raises the risk, - lowers it; the steps add up, largest first. An engineered feature is shown "
        "with what it is made of."
    )
    st.plotly_chart(
        charts.contributions_waterfall(base, [(step.name, step.points) for step in steps]), width="stretch"
    )
    table = pd.DataFrame(
        {
            "feature": [step.feature for step in steps],
            "value": ["" if step.value is None else str(step.value) for step in steps],
            "percentage points": [round(step.points, 2) for step in steps],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")  # plain cells: a CSV's column names stay text


def render_reasons(prediction: dict[str, Any]) -> None:
    """The reason codes the API gave (refusals get them by default), as an applicant would read them."""
    given = prediction.get("reasons")
    if prediction["decision"] == "approve" and not given:
        st.caption("Approved: no adverse reasons to give.")
        return
    st.markdown(
        "**Main reasons for refusal**" if prediction["decision"] == "refuse" else "**What weighed against**"
    )
    if not given:
        st.caption("No reason was returned.")
        return
    table = pd.DataFrame(given)[["code", "text"]].rename(columns={"text": "reason"})
    st.dataframe(table, hide_index=True, width="stretch")  # plain cells: a CSV's column names stay text
    st.caption("Gender and age are never given as reasons.")


def _scroll_into_view(token: str) -> None:
    """Bring the result's heading into view (the form above it is long), once per new result: the
    script is ours, with only the result's id (letters, digits, dashes) to make each one new."""
    nonce = re.sub(r"[^A-Za-z0-9-]", "", token)[:64]
    st.html(
        f"<script>/* {nonce} */ document.getElementById({json.dumps(ANCHOR)})"
        "?.scrollIntoView({behavior: 'smooth', block: 'start'});</script>",
        unsafe_allow_javascript=True,
    )
