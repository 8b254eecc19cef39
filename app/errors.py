"""The one failure type pages handle: a source the console reads (API, MLflow, log) did not answer."""


class SourceUnavailableError(Exception):
    """A data source failed; the message says what happened in words fit for an operator."""
