"""The drift routes document every status they answer, in the project's JSON error shape (issue 13, item 7)."""

from __future__ import annotations

import pytest

from api.main import create_app

ERROR_SCHEMA = "#/components/schemas/ErrorResponse"


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/drift/run", {"202", "401", "403", "409", "422", "501"}),
        ("get", "/drift/latest", {"200", "401", "403", "404"}),
        ("get", "/drift/reports/{report_id}", {"200", "202", "401", "403", "404", "422"}),
    ],
)
def test_drift_routes_document_their_refusals(method: str, path: str, statuses: set[str]) -> None:
    responses = create_app().openapi()["paths"][path][method]["responses"]
    assert statuses <= set(responses)
    for status in statuses - {"200", "202"}:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema["$ref"] == ERROR_SCHEMA, (path, status, schema)
