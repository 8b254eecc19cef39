"""POST /outcomes: what became of scored clients (a JSON list or a CSV upload), into the outcomes store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from api.auth import require
from api.deps import SettingsDep
from api.identity_roles import Permission
from api.routes.predict import BATCH_ERRORS, _json_records
from api.schemas import RowError
from api.scoring import InputError
from api.store_calls import store_call
from api.strict_json import StrictJsonRoute
from api.uploads import CSV_TYPES, csv_upload
from ml.outcomes import COLUMNS, ImportResult, OutcomesInputError, csv_chunks, import_outcomes, json_chunks

router = APIRouter(
    tags=["outcomes"], route_class=StrictJsonRoute, dependencies=[Depends(require(Permission.POST_OUTCOMES))]
)

OUTCOME_EXAMPLE = {"request_id": "3f1c…", "row": 1, "defaulted": 0, "observed_at": "2026-03-31"}
BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": (
                        "One object per decision: request_id and row (as the API answered them) or "
                        "client_id; defaulted (0/1); observed_at (ISO date)."
                    ),
                    "example": [
                        OUTCOME_EXAMPLE,
                        {"client_id": 100002, "defaulted": 1, "observed_at": "2026-04-02"},
                    ],
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


class OutcomesResponse(BaseModel):
    rows: int = Field(description="Rows received.")
    accepted: int = Field(description="Rows stored, corrected or already known.")
    stored: int = Field(description="New outcomes.")
    corrected: int = Field(description="Outcomes that changed (the previous value is kept with its time).")
    unchanged: int = Field(
        description="Outcomes already recorded with the same value (sending twice is safe)."
    )
    rejected: int
    errors: list[RowError] = Field(description="Refused rows (JSON: 1-based index; CSV: line number).")


@router.post(
    "/outcomes",
    response_model=OutcomesResponse,
    responses=BATCH_ERRORS,
    openapi_extra=BODY,
    summary="Record outcomes (defaulted or not) of scored clients: a JSON list or a CSV upload",
)
async def post_outcomes(
    request: Request,
    settings: SettingsDep,
    strict: Annotated[bool, Query(description="Store nothing if any row is refused.")] = False,
) -> OutcomesResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        records = await _json_records(request, settings, len(COLUMNS))
        result = await _import(settings.database_url, json_chunks(records), strict)
    elif content_type in ("multipart/form-data", *CSV_TYPES):
        async with csv_upload(request, content_type) as upload:
            result = await _import(settings.database_url, csv_chunks(upload), strict)
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send application/json (a list of outcomes), multipart/form-data (file=...) or text/csv",
        )
    return OutcomesResponse(**result.as_dict())


async def _import(database_url: str, chunks: Any, strict: bool) -> ImportResult:
    try:
        return await store_call(
            "the outcomes store is unreachable; nothing was stored",
            import_outcomes,
            database_url,
            chunks,
            strict,
        )
    except OutcomesInputError as exc:
        raise InputError(exc.errors, exc.message) from exc
