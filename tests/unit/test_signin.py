"""Sign-in rules below HTTP: the same hash for unknown names, exam codes and candidate tokens
that stop working when their session is over, a logout that ends the login itself."""

from __future__ import annotations

from collections.abc import Iterator

import argon2
import pytest
from sqlmodel import Session

from app import auth
from app.auth import (
    ExamOver,
    authenticate,
    exam_code_hash,
    sign_in_candidate,
    sign_in_staff,
    sign_out,
    token_hash,
)
from app.db import make_engine, migrate, unit_of_work
from app.errors import Unauthorized
from app.models import LabSession, Role, State, User


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    migrate(engine)
    with unit_of_work(engine) as session:
        yield session


class CountingHasher(argon2.PasswordHasher):
    verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        CountingHasher.verified += 1
        return super().verify(hash, password)


def test_an_unknown_name_costs_a_hash_too(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", CountingHasher())
    db.add(User(name="ann", role=Role.examiner, token_hash="x"))
    auth.set_password(db, "ann", "correct horse")
    for name in ("ann", "nobody"):
        with pytest.raises(Unauthorized, match="wrong name or password"):
            sign_in_staff(db, name, "wrong password")
    assert CountingHasher.verified == 2
    assert sign_in_staff(db, "ann", "correct horse")


@pytest.mark.parametrize("over", [State.ending, State.graded, State.torn_down, State.failed])
def test_code_and_candidate_token_end_with_the_session(db: Session, over: State) -> None:
    lab = LabSession(
        id="s1",
        scenario="amp-stack",
        candidate="Zoé",
        exam_code_hash=exam_code_hash("ABCD-EFGH"),
        candidate_token_hash=token_hash("candidate-token"),
    )
    db.add(lab)
    db.flush()
    assert sign_in_candidate(db, "abcd efgh")[1] == "s1"
    assert authenticate(db, "Bearer candidate-token").session_id == "s1"
    lab.state = over
    db.add(lab)
    db.flush()
    with pytest.raises(ExamOver, match=f"this exam is over \\({over.value}\\)"):
        sign_in_candidate(db, "ABCD-EFGH")
    with pytest.raises(Unauthorized, match="expired with its session"):
        authenticate(db, "Bearer candidate-token")


def test_signing_out_ends_the_login_on_the_server(db: Session) -> None:
    db.add(User(name="ann", role=Role.examiner, token_hash="x"))
    auth.set_password(db, "ann", "correct horse")
    cookie = sign_in_staff(db, "ann", "correct horse")
    assert authenticate(db, None, cookie).name == "ann"
    sign_out(db, cookie)
    sign_out(db, None)  # no cookie: nothing to end
    with pytest.raises(Unauthorized):
        authenticate(db, None, cookie)
