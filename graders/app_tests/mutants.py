"""Deliberately broken variants of the reference (graders.app_tests.reference): each breaks one
rule of the subject, as a hurried developer would. Tests worth the name fail on each of them
and pass on the reference. Never shown to the candidate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).with_name("reference.py")


@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str  # the rule it breaks, for the jury
    edits: tuple[tuple[str, str], ...]  # (text of the reference, its replacement), each once

    def source(self, reference: str) -> str:
        for old, new in self.edits:
            if reference.count(old) != 1:
                raise ValueError(f"mutant {self.name}: {old!r} is not once in the reference")
            reference = reference.replace(old, new)
        return reference


MUTANTS = (
    Mutant(
        "isbn-poids",
        "the ISBN-13 key weighs digits 3, 1, 3… instead of 1, 3, 1…",
        (("(1 if i % 2 == 0 else 3)", "(3 if i % 2 == 0 else 1)"),),
    ),
    Mutant(
        "isbn-prefixe",
        "any prefix starting with 97 is taken for a book's",
        (('chiffres[:3] not in ("978", "979")', 'chiffres[:2] != "97"'),),
    ),
    Mutant(
        "penalite-plafond",
        "the late fee has no ceiling",
        (("min(jours_retard * TARIF_JOUR, PLAFOND)", "jours_retard * TARIF_JOUR"),),
    ),
    Mutant(
        "penalite-negative",
        "a negative delay gives a negative fee",
        (("if jours_retard <= 0:", "if jours_retard == 0:"),),
    ),
    Mutant(
        "plafond-prets",
        "a member may borrow one book more than the limit",
        ((">= self.max_prets:", "> self.max_prets:"),),
    ),
    Mutant(
        "double-pret",
        "a lent book may be lent to another member",
        (("if cle in self.prets:", "if self.prets.get(cle) == membre:"),),
    ),
    Mutant(
        "retour-non-prete",
        "returning a book that is not lent is accepted",
        (
            ("if cle not in self.prets:", "if False:"),
            ("del self.prets[cle]", "self.prets.pop(cle, None)"),
        ),
    ),
    Mutant(
        "membre-inconnu",
        "an unknown member may borrow",
        (
            ("raise KeyError(membre)\n        if cle in", "pass\n        if cle in"),
            (
                "len(self.prets_de(membre))",
                "sum(1 for qui in self.prets.values() if qui == membre)",
            ),
        ),
    ),
)


def sources() -> dict[str, str]:
    """Each mutant's module source, by name."""
    reference = REFERENCE.read_text()
    return {m.name: m.source(reference) for m in MUTANTS}
