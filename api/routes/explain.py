"""POST /explain: LightGBM's own signed feature contributions for one client, with the base value."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_scoring
from api.deps import Served, request_id
from api.routes.predict import ERRORS
from api.schemas import Contribution, ExplainRequest, ExplainResponse
from api.scoring import explain_one
from api.strict_json import StrictJsonRoute

router = APIRouter(tags=["scoring"], route_class=StrictJsonRoute, dependencies=[Depends(require_scoring)])


@router.post("/explain", response_model=ExplainResponse, responses=ERRORS, max_body_size=1024 * 1024)
async def explain(body: ExplainRequest, served: Served) -> ExplainResponse:
    result = explain_one(served, body.features, body.top)
    return ExplainResponse(
        request_id=request_id(),
        model_name=served.name,
        model_version=served.version,
        probability=result.probability,
        decision=result.decision,
        risk_band=result.risk_band,
        base_value=result.base_value,
        contributions=[Contribution(feature=f, value=v, contribution=c) for f, v, c in result.contributions],
    )
