"""`/metrics` for Prometheus: staff only (a scrape job with a staff member's API token as its
`authorization` credentials). What is counted: app.metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import CurrentUser
from app.errors import Forbidden
from app.metrics import exposition
from app.models import Role

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, who: CurrentUser) -> Response:
    if who.role is Role.candidate:
        raise Forbidden("metrics are for staff")
    return Response(exposition(request.app.state.engine), media_type=CONTENT_TYPE_LATEST)
