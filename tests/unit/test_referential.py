"""The RNCP referential file loads, is complete and gives every code a text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from labs.referential import DEFAULT, Referential, load_referential

AMP = "BLOC4.C4"


@pytest.fixture(scope="module")
def ref() -> Referential:
    return load_referential()


def test_file_loads_and_default_is_cached(ref: Referential) -> None:
    assert ref.title
    assert load_referential() is ref
    assert load_referential(DEFAULT) is ref


def test_five_blocks_in_order_with_their_competencies(ref: Referential) -> None:
    assert [b.code for b in ref.blocks] == ["BLOC1", "BLOC2", "BLOC3", "BLOC4", "BLOC5"]
    assert [len(b.competencies) for b in ref.blocks] == [4, 3, 5, 5, 1]
    assert all(b.title and b.activities for b in ref.blocks)


def test_modalities_are_those_of_the_text(ref: Referential) -> None:
    assert ref.modalities["C1"] == "Questionnaire"
    assert ref.modalities["C2"] == "Etude de cas"
    assert ref.modalities["C3"] == "Mise en situation professionnelle"
    assert ref.modalities["C4"] == "Projet avec restitution orale"
    assert set(ref.modalities) == {"C1", "C2", "C3", "C4", "C5"}


def test_every_competency_is_evaluated_with_a_known_modality(ref: Referential) -> None:
    for block in ref.blocks:
        for competency in block.competencies:
            assert competency.evaluations, competency.code
            for evaluation in competency.evaluations:
                assert evaluation.modality in ref.modalities, competency.code
                assert evaluation.description


def test_only_the_memoire_has_no_criteria_of_its_own(ref: Referential) -> None:
    empty = [
        f"{c.code}.{e.modality}"
        for b in ref.blocks
        for c in b.competencies
        for e in c.evaluations
        if not e.criteria
    ]
    assert empty == ["BLOC1.C2.C5"]


def test_codes_are_unique(ref: Referential) -> None:
    listed = [b.code for b in ref.blocks]
    for block in ref.blocks:
        for c in block.competencies:
            listed += [c.code, *(c.evaluation_code(e) for e in c.evaluations)]
    assert [code for code, n in Counter(listed).items() if n > 1] == []
    assert ref.codes() == set(listed)
    assert len(listed) == 5 + 18 + 21


def test_amp_competency_is_described(ref: Referential) -> None:
    assert {"BLOC4", AMP, f"{AMP}.C3"} <= ref.codes()
    text = ref.describe(AMP)
    assert text is not None
    assert "base de données" in text and "serveur Web" in text
    evaluation = ref.describe(f"{AMP}.C3")
    assert evaluation is not None
    assert text in evaluation
    assert "Mise en situation professionnelle" in evaluation and "AMP" in evaluation
    assert ref.describe("BLOC4") == "Administration du système et du réseau"


@pytest.mark.parametrize("code", ["BLOC6", "BLOC4.C9", "BLOC4.C4.C4", "BLOC4-C3-services", ""])
def test_unknown_code_describes_as_none(ref: Referential, code: str) -> None:
    assert code not in ref.codes()
    assert ref.describe(code) is None


def test_a_modality_not_declared_is_rejected(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data["blocks"][0]["competencies"][0]["evaluations"][0]["modality"] = "C9"
    path = tmp_path / "referential.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown modality"):
        load_referential(path)


def test_competencies_out_of_order_are_rejected(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data["blocks"][3]["competencies"][3]["code"] = "BLOC4.C3"
    path = tmp_path / "referential.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="competencies must be"):
        load_referential(path)
