"""POST /predict (one client) and POST /predict/batch (a JSON list or a CSV upload)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from api.auth import require_scoring
from api.core.config import ApiSettings
from api.csv_batch import score_csv
from api.deps import Served, record_scored, request_id, single
from api.model_holder import LoadedModel
from api.schemas import BatchResponse, ErrorResponse, PredictRequest, PredictResponse
from api.scoring import (
    Scored,
    check_one,
    encode_one,
    reason_mode,
    reasons_for,
    score_one,
    score_records,
)
from api.strict_json import StrictJsonRoute, loads_strict
from api.uploads import CSV_TYPES, csv_upload

router = APIRouter(tags=["scoring"], route_class=StrictJsonRoute, dependencies=[Depends(require_scoring)])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 413, 422, 429, 500, 503)
}
# An upload's multipart envelope that cannot be read (no boundary, malformed, more than 4 fields) is
# Starlette's 400; a body that is neither JSON nor CSV is a 415.
BATCH_ERRORS = {
    **ERRORS,
    400: {"model": ErrorResponse, "description": "A multipart body that cannot be read."},
    415: {"model": ErrorResponse},
}
# What json.loads may allocate per value (measured: 33 bytes in [{},{}], 55 in wide records, 85 in a
# dict of unique keys), so the estimate is an upper bound.
JSON_BYTES_PER_VALUE = 128
RESPONSE_BLOCK_ROWS = 2_000


ReasonsFlag = Annotated[
    bool | None,
    Query(description="Reason codes: omitted = for refusals, true = for every row, false = none."),
]


@router.post("/predict", response_model=PredictResponse, responses=ERRORS, max_body_size=1024 * 1024)
async def predict(
    body: PredictRequest, request: Request, served: Served, reasons: ReasonsFlag = None
) -> Response:
    """The answer is a PredictResponse (the documented contract), written with orjson directly: FastAPI
    would validate and re-encode it through pydantic and json, ~10% of a request's CPU."""
    raw = encode_one(served, body.features)
    absent = check_one(served, body.features, request.app.state.scoring_params.missing)
    built = served.model.builder.build(raw)  # once, for the score and its reasons
    probability, decision, band = score_one(served, built)
    scored = single(served, (probability, decision, band), body.features, raw)
    scored.reasons = reasons_for(served, raw, [decision], reason_mode(reasons), built)
    await record_scored(request, served, scored)
    answer = {
        "request_id": request_id(),
        "model_name": served.name,
        "model_version": served.version,
        "probability": probability,
        "decision": decision,
        "risk_band": band,
        "threshold": served.model.meta.threshold,
        "reasons": scored.row_reasons()[0],
        "missing_features": absent.features,
        "missing_importance": float(absent.share),
        "warning": absent.warning or None,
    }
    return Response(orjson.dumps(answer), media_type="application/json")


BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "One object of features per client.",
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/predict/batch",
    response_model=BatchResponse,
    responses=BATCH_ERRORS,
    openapi_extra=BATCH_BODY,
    summary="Score a JSON list of clients or a CSV upload",
)
async def predict_batch(
    request: Request,
    served: Served,
    strict: Annotated[bool, Query(description="Reject the whole batch if any row is invalid.")] = False,
    reasons: ReasonsFlag = None,
) -> Response:
    mode = reason_mode(reasons)
    settings = request.app.state.settings
    missing = request.app.state.scoring_params.missing
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "multipart/form-data", *CSV_TYPES):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send application/json (a list of records), multipart/form-data (file=...) or text/csv",
        )
    async with request.app.state.batch_slots.hold():
        backlog = request.app.state.inference_log.backlog_rows()
        if backlog > settings.max_log_backlog_rows:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the inference log is catching up ({backlog} rows to write); retry shortly",
                headers={"Retry-After": "5"},
            )
        if content_type == "application/json":
            width = served.model.encoder.width
            records = await _json_records(request, settings, width)
            scored = await asyncio.to_thread(score_records, served, records, strict, mode, missing)
            del records
        else:
            async with csv_upload(request, content_type) as upload:
                scored = await asyncio.to_thread(
                    score_csv,
                    served,
                    upload,
                    strict,
                    settings.csv_chunk_rows,
                    settings.max_csv_rows,
                    mode,
                    missing,
                    settings.csv_reader,
                )
        await record_scored(request, served, scored)
        return StreamingResponse(_batch_json(served, scored), media_type="application/json")


async def _json_records(request: Request, settings: ApiSettings, width: int) -> list[Any]:
    """The JSON list of records, parsed only when the parser's memory is known to fit the budget.

    json.loads builds ~30 bytes of objects per byte of `[{},{},…]`, so the body size alone does
    not bound it: the values are counted first (commas and opening brackets, an upper bound).
    """
    max_bytes, max_rows = settings.max_json_bytes, settings.max_batch_rows
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"JSON body over {max_bytes} bytes; upload a CSV"
            )
    if not body.strip():
        raise HTTPException(422, "empty body: send a JSON list of records")
    values = body.count(b",") + body.count(b"{") + body.count(b"[") + 1
    text_bytes = len(body) * (1 if body.isascii() else 4)  # a str holds up to 4 bytes a character
    if (
        values > max_rows * (width + 3)
        or 2 * text_bytes + values * JSON_BYTES_PER_VALUE > settings.json_parse_budget_bytes
    ):
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"JSON batch too large to parse here (~{values} values); at most {max_rows} records of "
            f"{width} features: upload a CSV",
        )
    try:
        records = loads_strict(body)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"invalid JSON: {exc}") from exc
    if not isinstance(records, list):
        raise HTTPException(422, "expected a JSON list of records")
    if not records:
        raise HTTPException(422, "the list of records is empty")
    if len(records) > max_rows:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(records)} records; at most {max_rows} per JSON batch (upload a CSV)",
        )
    return records


def _batch_json(served: LoadedModel, scored: Scored) -> Iterator[bytes]:
    """The BatchResponse, written directly and streamed in blocks of rows: for 100,000 rows, per-row
    dicts through pydantic or one joined string would cost more memory than scoring them (floats use
    repr, which is valid JSON)."""
    head = {
        "request_id": request_id(),
        "model_name": served.name,
        "model_version": served.version,
        "threshold": served.model.meta.threshold,
        "rows": scored.total,
        "scored": len(scored.rows),
        "rejected": scored.rejected,
        "errors": [error.as_dict() for error in scored.errors],
        **_absent_fields(scored),
    }
    yield (json.dumps(head, separators=(",", ":"))[:-1] + ',"results":[').encode()
    rows = zip(
        scored.rows,
        scored.probabilities,
        scored.decisions,
        scored.bands,
        scored.row_reasons(),
        _row_missing(scored),
        strict=True,
    )
    separator = ""
    while block := list(itertools.islice(rows, RESPONSE_BLOCK_ROWS)):
        text = ",".join(
            f'{{"row":{row},"probability":{p!r},"decision":"{d}","risk_band":"{b}"{m}'
            + (f',"reasons":{orjson.dumps(r).decode()}}}' if r is not None else "}")
            for row, p, d, b, r, m in block
        )
        yield (separator + text).encode()
        separator = ","
    yield b"]}"


def _absent_fields(scored: Scored) -> dict[str, Any]:
    """The request-level absent features (a CSV's header; for JSON, absent from every row)."""
    absent = scored.absent
    if absent is None:
        return {"missing_features": [], "missing_importance": 0.0, "warning": None}
    warning = absent.warning
    if scored.missing is not None:  # JSON: say how many rows lacked something
        lacking = sum(1 for features in scored.missing if features)
        warning = (
            f"{lacking} of {len(scored.missing)} scored rows lacked some of the model's features"
            if lacking
            else ""
        )
    return {
        "missing_features": absent.features,
        "missing_importance": absent.share,
        "warning": warning or None,
    }


def _row_missing(scored: Scored) -> Iterator[str]:
    """Each JSON row's absent features as a JSON fragment ('' for CSV rows, checked by header)."""
    if scored.missing is None or scored.missing_shares is None:
        return itertools.repeat("", len(scored.rows))
    return (
        f',"missing_features":{json.dumps(features, separators=(",", ":"))},"missing_importance":{share!r}'
        for features, share in zip(scored.missing, scored.missing_shares, strict=True)
    )
