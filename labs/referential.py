"""The RNCP referential as data, so exam criteria can name the referential criterion they evaluate.

`referential.yaml` (next to this module) is hand-structured from the certification text: blocks
(BLOC<n>), their competencies (BLOC<n>.C<k>, k-th in text order) and how each is evaluated
(BLOC<n>.C<k>.<modality>, modality C1..C5). Validation checks a scenario's codes against
`Referential.codes()`; reports and the jury UI show `Referential.describe(code)`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT = Path(__file__).with_name("referential.yaml")

BlockCode = Annotated[str, Field(pattern=r"^BLOC[1-9]$")]
CompetencyCode = Annotated[str, Field(pattern=r"^BLOC[1-9]\.C[1-9][0-9]?$")]
ModalityCode = Annotated[str, Field(pattern=r"^C[1-9]$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evaluation(Strict):
    """One way a competency is evaluated: a modality, what the candidate does, the criteria."""

    modality: ModalityCode
    description: str = Field(min_length=1)
    criteria: tuple[str, ...]


class Competency(Strict):
    code: CompetencyCode
    text: str = Field(min_length=1)
    evaluations: tuple[Evaluation, ...] = Field(min_length=1)

    def evaluation_code(self, evaluation: Evaluation) -> str:
        return f"{self.code}.{evaluation.modality}"


class Block(Strict):
    code: BlockCode
    title: str = Field(min_length=1)
    activities: tuple[str, ...]
    competencies: tuple[Competency, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Self:
        expected = [f"{self.code}.C{k}" for k in range(1, len(self.competencies) + 1)]
        found = [c.code for c in self.competencies]
        if found != expected:
            raise ValueError(f"{self.code}: competencies must be {expected}, got {found}")
        return self


class Referential(Strict):
    title: str
    modalities: dict[ModalityCode, str]
    blocks: tuple[Block, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        expected = [f"BLOC{n}" for n in range(1, len(self.blocks) + 1)]
        if [b.code for b in self.blocks] != expected:
            raise ValueError(f"blocks must be {expected} in order")
        for block in self.blocks:
            for competency in block.competencies:
                seen = [e.modality for e in competency.evaluations]
                if unknown := sorted(set(seen) - self.modalities.keys()):
                    raise ValueError(f"{competency.code}: unknown modality {unknown}")
                if len(seen) != len(set(seen)):
                    raise ValueError(f"{competency.code}: a modality is listed twice")
        return self

    def _texts(self) -> dict[str, str]:
        texts: dict[str, str] = {}
        for block in self.blocks:
            texts[block.code] = block.title
            for competency in block.competencies:
                texts[competency.code] = competency.text
                for evaluation in competency.evaluations:
                    modality = self.modalities[evaluation.modality]
                    texts[competency.evaluation_code(evaluation)] = (
                        f"{competency.text} — {modality} : {evaluation.description}"
                    )
        return texts

    def codes(self) -> set[str]:
        """Every block, competency and competency.modality code, e.g. BLOC4, BLOC4.C4.C3."""
        return set(self._texts())

    def describe(self, code: str) -> str | None:
        """The human text of a code, or None if the referential has no such code."""
        return self._texts().get(code)


def load_referential(path: Path = DEFAULT) -> Referential:
    """Read and validate the referential; the default file is parsed once per process."""
    return _load_default() if path == DEFAULT else _load(path)


@lru_cache(maxsize=1)
def _load_default() -> Referential:
    return _load(DEFAULT)


def _load(path: Path) -> Referential:
    with path.open(encoding="utf-8") as handle:
        return Referential.model_validate(yaml.safe_load(handle))
