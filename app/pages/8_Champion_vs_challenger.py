"""Champion vs challenger on live traffic: the swap set, both score distributions, refusal rates,
the features that separate swap-in from swap-out clients, the live gate's verdict, and promotion of
the challenger through the same Review -> Confirm step as the registry page."""

from __future__ import annotations

import streamlit as st

from app import challenger_view
from app.components import feedback, registry_actions, session, sidebar

st.set_page_config(page_title="Champion vs challenger", page_icon=":material/compare_arrows:", layout="wide")
identity = sidebar.render()
st.title("Champion vs challenger")
client = session.api_client()

window = st.selectbox("Window", list(challenger_view.WINDOWS), index=2)
report = feedback.load(client.challenger_report, challenger_view.WINDOWS[window])
registry_actions.show_outcome()
registry_actions.confirm_step(client, identity.name)

pair = challenger_view.current_pair(report)
if pair is None:
    shadowing = report.get("challenger_version")
    st.info(
        f"No shadow scores in this window. The API shadows with v{shadowing}: score some clients."
        if shadowing
        else "No challenger is shadowing: set one on the Model registry page (alias challenger); "
        "every replica then scores the accepted rows with it too, off the request path."
    )
    st.stop()

pairs = report["pairs"]
if len(pairs) > 1:
    labels = [challenger_view.pair_label(p) for p in pairs]
    chosen = st.selectbox("Pair", labels, index=pairs.index(pair))
    pair = pairs[labels.index(chosen)]
st.caption(
    f"{challenger_view.pair_label(pair)}: {pair['rows']:,} decisions from {pair['first']} to {pair['last']}."
)

cols = st.columns(5)
refusal = pair["refusal_rate"]
cols[0].metric("Decisions compared", f"{pair['rows']:,}")
cols[1].metric("Swap set", f"{pair['swap_share']:.1%}", help="Clients whose decision would change.")
cols[2].metric("Champion refuses", f"{refusal['champion']:.1%}")
cols[3].metric(
    "Challenger refuses",
    f"{refusal['challenger']:.1%}",
    delta=f"{pair['refusal_rate_change']:+.1%}",
    delta_color="inverse",
)
correlation = pair["correlation"]["pearson"]
cols[4].metric("Score correlation", "-" if correlation is None else f"{correlation:.3f}")

left, right = st.columns(2)
left.plotly_chart(challenger_view.swap_heatmap(pair), width="stretch")
right.plotly_chart(challenger_view.score_distributions(pair), width="stretch")
st.caption(
    f"Swap-in (the challenger would approve, the champion refused): {pair['swap_in']:,}; "
    f"swap-out (the reverse): {pair['swap_out']:,}."
)

left, right = st.columns(2)
with left:
    st.subheader("What separates swap-in from swap-out clients")
    table = challenger_view.separating_table(pair)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.info("Too few swap-in or swap-out clients to say (at least 20 of each).")
with right:
    st.subheader("Score difference")
    st.dataframe(challenger_view.difference_table(pair), hide_index=True, width="stretch")

st.subheader("Outcomes")
outcomes = challenger_view.outcome_table(pair)
if outcomes is None:
    st.info("No outcome is recorded for these decisions yet (Performance page: upload outcomes).")
else:
    st.dataframe(outcomes, hide_index=True, width="stretch")

st.subheader("Promotion")
passed, headline, failures = challenger_view.gate_lines(report["gate"])
(st.success if passed else st.error)(headline, icon=":material/rule:")
for failure in failures:
    st.markdown(f"- {failure}")
st.caption("Promotion also passes the offline gate (AUC, fairness); its verdict comes back with the answer.")
if report.get("challenger_version") == pair["challenger_version"]:
    registry_actions.promote_challenger_form(pair["challenger_version"], identity)
