"""The JSON Schema of scenario.yaml, for editors: the scenario model with the check union
(and, where known, the referential's codes) put in place of the free-form `check` dicts."""

from __future__ import annotations

from typing import Any

from graders.checks import CHECKS
from labs.scenario import Scenario


def scenario_schema(referential_codes: set[str] | None = None) -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True)
    schema["properties"].pop("folder", None)
    for keyed in schema["properties"].values():  # nodes, parameters, draw: names as validated
        if "patternProperties" in keyed:
            keyed["additionalProperties"] = False
    schema["title"] = "Praxis scenario (scenario.yaml)"
    defs = schema.setdefault("$defs", {})
    checks = CHECKS.json_schema(ref_template="#/$defs/{model}")
    defs.update(checks.pop("$defs", {}))
    defs["Check"] = checks
    criterion = defs["Criterion"]["properties"]
    criterion["check"] = {"anyOf": [{"$ref": "#/$defs/Check"}, {"type": "null"}]}
    criterion["checks"] = {
        "anyOf": [
            {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Check"}},
            {"type": "null"},
        ]
    }
    if referential_codes:
        criterion["referential"] = {
            "anyOf": [{"enum": sorted(referential_codes)}, {"type": "null"}]
        }
    return schema
