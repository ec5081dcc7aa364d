"""The JSON Schema editors use: it accepts every shipped scenario, rejects broken ones, and
the committed scenario.schema.json is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from app.config import ROOT
from app.schema import scenario_schema
from labs.referential import load_referential

CASES = Path(__file__).parent / "scenario_cases"
SCHEMA = scenario_schema(load_referential().codes())
SHIPPED = [
    *ROOT.glob("scenarios/*/scenario.yaml"),
    *ROOT.glob("tests/integration/scenarios/*/scenario.yaml"),
    CASES / "valid/scenario.yaml",
]
# Broken in ways a schema can see (references between parts and files need the validator).
REJECTED = ["unknown-key", "missing-key", "bad-values", "bad-checks", "not-a-mapping"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_schema_accepts_shipped_scenarios(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


def test_schema_accepts_the_skeleton() -> None:
    text = (ROOT / "app/skeleton/scenario.yaml").read_text().replace("__NAME__", "demo")
    jsonschema.validate(yaml.safe_load(text), SCHEMA)


@pytest.mark.parametrize("case", REJECTED)
def test_schema_rejects_broken_scenarios(case: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load((CASES / case / "scenario.yaml").read_text()), SCHEMA)


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "scenario.schema.json").read_text())
    assert committed == SCHEMA, "run `praxis scenario schema` and commit scenario.schema.json"
