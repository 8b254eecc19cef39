"""Streamlit operator console: a client of the scoring API and a reader of MLflow runs."""
