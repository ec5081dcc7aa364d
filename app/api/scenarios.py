"""Scenarios this instance offers."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CatalogDep, CurrentUser
from app.errors import NotFound
from app.models import Role, ScenarioPublic

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])


@router.get("", response_model=list[ScenarioPublic])
def list_scenarios(user: CurrentUser, catalog: CatalogDep) -> list[ScenarioPublic]:
    user.require(Role.examiner, Role.instructor)
    out = []
    for scenario_id in catalog.ids():
        scenario, _ = catalog.check(scenario_id)
        if scenario is not None:
            out.append(
                ScenarioPublic(
                    id=scenario.id,
                    title=scenario.title.model_dump(),
                    duration=scenario.duration,
                    nodes=list(scenario.nodes),
                    criteria=len(scenario.criteria),
                )
            )
    return out


@router.get("/{scenario_id}/problems")
def problems(scenario_id: str, user: CurrentUser, catalog: CatalogDep) -> list[str]:
    """Everything wrong with a scenario, as `file:line: message` (empty when valid)."""
    user.require(Role.instructor, Role.examiner)
    if scenario_id not in catalog.ids():
        raise NotFound(f"no scenario {scenario_id!r}")
    return [str(p) for p in catalog.check(scenario_id)[1]]
