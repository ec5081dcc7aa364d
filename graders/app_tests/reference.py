"""The reference implementation of the app-tests subject (`prets.py`): the grader's measure of
right behaviour, and the original its mutants are made from. Never shown to the candidate.

Standalone (the standard library only): it runs as `prets.py` in the grading sandbox too.
"""

from __future__ import annotations

TARIF_JOUR = 0.20
PLAFOND = 5.00


class PretRefuse(Exception):
    """Un prêt ou un retour que les règles de la bibliothèque refusent."""


def normaliser_isbn(isbn: str) -> str:
    return isbn.replace("-", "").replace(" ", "")


def isbn_valide(isbn: str) -> bool:
    """ISBN-13 : 13 chiffres (tirets et espaces ignorés), préfixe 978 ou 979, clé juste."""
    chiffres = normaliser_isbn(isbn)
    if len(chiffres) != 13 or not chiffres.isascii() or not chiffres.isdigit():
        return False
    if chiffres[:3] not in ("978", "979"):
        return False
    somme = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(chiffres))
    return somme % 10 == 0


def penalite(jours_retard: int) -> float:
    """0,20 € par jour de retard, au plus 5,00 € ; rien sans retard."""
    if jours_retard <= 0:
        return 0.0
    return round(min(jours_retard * TARIF_JOUR, PLAFOND), 2)


class Bibliotheque:
    def __init__(self, max_prets: int = 3) -> None:
        if max_prets < 1:
            raise ValueError("max_prets doit valoir au moins 1")
        self.max_prets = max_prets
        self.titres: dict[str, str] = {}
        self.membres: set[str] = set()
        self.prets: dict[str, str] = {}  # isbn -> membre

    def ajouter_livre(self, isbn: str, titre: str) -> None:
        if not isbn_valide(isbn):
            raise ValueError(f"ISBN invalide : {isbn}")
        cle = normaliser_isbn(isbn)
        if cle in self.titres:
            raise ValueError(f"livre déjà au catalogue : {cle}")
        if not titre.strip():
            raise ValueError("titre vide")
        self.titres[cle] = titre.strip()

    def inscrire(self, membre: str) -> None:
        if not membre.strip():
            raise ValueError("nom de membre vide")
        if membre in self.membres:
            raise ValueError(f"membre déjà inscrit : {membre}")
        self.membres.add(membre)

    def emprunter(self, isbn: str, membre: str) -> None:
        cle = self._livre(isbn)
        if membre not in self.membres:
            raise KeyError(membre)
        if cle in self.prets:
            raise PretRefuse(f"déjà prêté : {cle}")
        if len(self.prets_de(membre)) >= self.max_prets:
            raise PretRefuse(f"{membre} a déjà {self.max_prets} prêts")
        self.prets[cle] = membre

    def rendre(self, isbn: str) -> None:
        cle = self._livre(isbn)
        if cle not in self.prets:
            raise PretRefuse(f"pas prêté : {cle}")
        del self.prets[cle]

    def disponibles(self) -> list[str]:
        return sorted(cle for cle in self.titres if cle not in self.prets)

    def prets_de(self, membre: str) -> list[str]:
        if membre not in self.membres:
            raise KeyError(membre)
        return sorted(cle for cle, qui in self.prets.items() if qui == membre)

    def _livre(self, isbn: str) -> str:
        cle = normaliser_isbn(isbn)
        if cle not in self.titres:
            raise KeyError(isbn)
        return cle
