#!/usr/bin/env bash
# Reference solution of the app-tests scenario, run as root on the node `dev`: the tools, then
# the candidate's three files (the module, its tests, the recipe book), owned by candidat.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do  # the platform's package cache may be busy
    apt-get update -q && apt-get install -y -q --no-install-recommends \
        python3 python3-pytest python3-coverage && break
    [[ $attempt == 3 ]] && exit 1
    sleep 10
done
PROJECT=/home/candidat/prets
install -d -o candidat -g candidat "$PROJECT" "$PROJECT/tests"

cat > "$PROJECT/prets.py" <<'EOF'
"""Gestion des prêts de la médiathèque (module prets)."""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIXES = ("978", "979")


class PretRefuse(Exception):
    """Le règlement refuse ce prêt ou ce retour."""


def _chiffres(isbn: str) -> str:
    return "".join(c for c in isbn if c not in "- ")


def isbn_valide(isbn: str) -> bool:
    chiffres = _chiffres(isbn)
    if len(chiffres) != 13 or not all(c in "0123456789" for c in chiffres):
        return False
    if not chiffres.startswith(PREFIXES):
        return False
    poids = [1, 3] * 6 + [1]
    return sum(int(c) * p for c, p in zip(chiffres, poids)) % 10 == 0


def penalite(jours_retard: int) -> float:
    if jours_retard < 1:
        return 0.0
    return min(round(jours_retard * 0.20, 2), 5.00)


@dataclass
class Bibliotheque:
    max_prets: int = 3
    livres: dict[str, str] = field(default_factory=dict)
    membres: set[str] = field(default_factory=set)
    emprunteur: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_prets < 1:
            raise ValueError("il faut autoriser au moins un prêt")

    def ajouter_livre(self, isbn: str, titre: str) -> None:
        if not isbn_valide(isbn):
            raise ValueError(f"ISBN invalide : {isbn!r}")
        if _chiffres(isbn) in self.livres:
            raise ValueError(f"ISBN déjà présent : {isbn!r}")
        if titre.strip() == "":
            raise ValueError("le titre est vide")
        self.livres[_chiffres(isbn)] = titre.strip()

    def inscrire(self, membre: str) -> None:
        if membre.strip() == "" or membre in self.membres:
            raise ValueError(f"inscription impossible : {membre!r}")
        self.membres.add(membre)

    def emprunter(self, isbn: str, membre: str) -> None:
        livre = self._connu(isbn)
        deja = self.prets_de(membre)  # KeyError si le membre est inconnu
        if livre in self.emprunteur:
            raise PretRefuse(f"{livre} est déjà emprunté")
        if len(deja) >= self.max_prets:
            raise PretRefuse(f"{membre} a atteint {self.max_prets} prêts")
        self.emprunteur[livre] = membre

    def rendre(self, isbn: str) -> None:
        livre = self._connu(isbn)
        if self.emprunteur.pop(livre, None) is None:
            raise PretRefuse(f"{livre} n'est pas emprunté")

    def disponibles(self) -> list[str]:
        return sorted(set(self.livres) - set(self.emprunteur))

    def prets_de(self, membre: str) -> list[str]:
        if membre not in self.membres:
            raise KeyError(membre)
        return sorted(livre for livre, qui in self.emprunteur.items() if qui == membre)

    def _connu(self, isbn: str) -> str:
        if _chiffres(isbn) not in self.livres:
            raise KeyError(isbn)
        return _chiffres(isbn)
EOF

cat > "$PROJECT/tests/test_prets.py" <<'EOF'
"""Tests unitaires du module prets (pytest)."""

import pytest

from prets import Bibliotheque, PretRefuse, isbn_valide, penalite

ISBN_A = "978-2-07-036002-4"
ISBN_B = "9782266320498"
ISBN_C = "979-10-90636-07-1"
ISBN_D = "978 2 07 040850 4"


@pytest.fixture
def biblio():
    b = Bibliotheque(max_prets=2)
    for isbn in (ISBN_A, ISBN_B, ISBN_C, ISBN_D):
        b.ajouter_livre(isbn, "Un titre")
    b.inscrire("Ana")
    b.inscrire("Bob")
    return b


@pytest.mark.parametrize("isbn", [ISBN_A, ISBN_B, ISBN_C, ISBN_D])
def test_isbn_valides(isbn):
    assert isbn_valide(isbn) is True


@pytest.mark.parametrize(
    "isbn",
    ["978-2-07-036002-5", "977-2-266-32049-9", "978207036002", "97820703600244", "978207036002X", ""],
)
def test_isbn_invalides(isbn):
    assert isbn_valide(isbn) is False


@pytest.mark.parametrize(
    ("jours", "montant"), [(-3, 0.0), (0, 0.0), (1, 0.2), (10, 2.0), (25, 5.0), (30, 5.0)]
)
def test_penalite(jours, montant):
    assert penalite(jours) == pytest.approx(montant)


def test_max_prets_au_moins_un():
    with pytest.raises(ValueError):
        Bibliotheque(max_prets=0)


def test_catalogue_refuse_isbn_invalide_doublon_et_titre_vide(biblio):
    with pytest.raises(ValueError):
        biblio.ajouter_livre("978-2-07-036002-5", "Clé fausse")
    with pytest.raises(ValueError):
        biblio.ajouter_livre("978-2-266-32049-8", "Doublon écrit autrement")
    with pytest.raises(ValueError):
        Bibliotheque().ajouter_livre(ISBN_A, "  ")


def test_inscription(biblio):
    with pytest.raises(ValueError):
        biblio.inscrire("Ana")
    with pytest.raises(ValueError):
        biblio.inscrire("")
    assert biblio.prets_de("Ana") == []
    with pytest.raises(KeyError):
        biblio.prets_de("Inconnu")


def test_emprunt_et_retour(biblio):
    biblio.emprunter("978-2-266-32049-8", "Ana")
    assert biblio.prets_de("Ana") == ["9782266320498"]
    assert "9782266320498" not in biblio.disponibles()
    biblio.rendre(ISBN_B)
    assert biblio.prets_de("Ana") == []
    assert biblio.disponibles() == sorted(["9782070360024", ISBN_B, "9791090636071", "9782070408504"])


def test_livre_deja_prete(biblio):
    biblio.emprunter(ISBN_A, "Ana")
    with pytest.raises(PretRefuse):
        biblio.emprunter(ISBN_A, "Bob")
    with pytest.raises(PretRefuse):
        biblio.emprunter(ISBN_A, "Ana")


def test_inconnus(biblio):
    with pytest.raises(KeyError):
        biblio.emprunter("978-0-00-000000-2", "Ana")
    with pytest.raises(KeyError):
        biblio.emprunter(ISBN_A, "Inconnu")
    with pytest.raises(KeyError):
        biblio.rendre("978-0-00-000000-2")


def test_plafond(biblio):
    biblio.emprunter(ISBN_A, "Ana")
    biblio.emprunter(ISBN_B, "Ana")
    with pytest.raises(PretRefuse):
        biblio.emprunter(ISBN_C, "Ana")
    biblio.rendre(ISBN_A)
    biblio.emprunter(ISBN_C, "Ana")


def test_rendre_un_livre_non_prete(biblio):
    with pytest.raises(PretRefuse):
        biblio.rendre(ISBN_A)
EOF

cat > "$PROJECT/cahier-de-recettes.md" <<'EOF'
# Cahier de recettes — module prets

Version testée : prets.py du 30/11, Python 3.11, pytest. Testeur : candidat.

| ID | Fonctionnalité | Données | Résultat attendu | Résultat obtenu | Statut |
|----|----------------|---------|------------------|-----------------|--------|
| R01 | isbn_valide : ISBN-13 correct avec tirets | 978-2-07-036002-4 | True | True | OK |
| R02 | isbn_valide : clé de contrôle fausse | 978-2-07-036002-5 | False | False | OK |
| R03 | isbn_valide : préfixe autre que 978/979 | 977-2-266-32049-9 | False | False | OK |
| R04 | penalite : aucun retard ou retard négatif | 0 ; -3 jours | 0,00 € | 0,00 € | OK |
| R05 | penalite : plafond | 25 ; 30 jours | 5,00 € | 5,00 € | OK |
| R06 | ajouter_livre : doublon écrit sans tirets | 9782070360024 déjà au catalogue | ValueError | ValueError | OK |
| R07 | inscrire : membre déjà inscrit | « Ana » deux fois | ValueError | ValueError | OK |
| R08 | emprunter puis rendre | ISBN B par Ana | B prêté à Ana puis de nouveau disponible | conforme | OK |
| R09 | emprunter : livre déjà prêté | ISBN A prêté à Ana, demandé par Bob | PretRefuse | PretRefuse | OK |
| R10 | emprunter : plafond de prêts atteint | max_prets=2, 3e emprunt d'Ana | PretRefuse | PretRefuse | OK |
| R11 | emprunter : membre inconnu | « Inconnu » | KeyError | KeyError | OK |
| R12 | rendre : livre non prêté | ISBN A disponible | PretRefuse | PretRefuse | OK |
| R13 | disponibles : ordre | 4 livres, 1 prêté | 3 ISBN triés | 3 ISBN triés | OK |
| R14 | prets_de : membre inconnu | « Inconnu » | KeyError | KeyError | OK |

Bilan : 14 cas, 14 OK. Les tests automatisés correspondants sont dans tests/test_prets.py.
EOF

chown -R candidat:candidat "$PROJECT"
cd "$PROJECT" && runuser -u candidat -- python3 -m pytest -q -p no:cacheprovider tests
