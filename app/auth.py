"""Bearer tokens: staff tokens belong to users, a candidate token opens exactly one session."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import argon2
from sqlmodel import Session, select

from app.errors import Forbidden, Unauthorized
from app.models import OPEN_STATES, LabSession, Login, Role, User, utcnow

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_hasher = argon2.PasswordHasher()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens are 256-bit random strings: a plain digest is enough, and lookups stay indexed.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    session_id: str | None = None  # set for candidates only

    def require(self, *roles: Role) -> None:
        if self.role is not Role.admin and self.role not in roles:
            raise Forbidden(f"this needs one of the roles: {', '.join(r.value for r in roles)}")

    def require_session(self, session_id: str) -> None:
        """Staff who watch sessions, or the candidate of this very session."""
        if self.role is Role.candidate:
            if self.session_id != session_id:
                raise Forbidden("a candidate token opens its own session only")
        else:
            self.require(Role.examiner)


def authenticate(db: Session, authorization: str | None, cookie: str | None = None) -> Principal:
    """The caller, from an API bearer token or a browser's sign-in cookie. Raises Unauthorized."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        token = token.strip()
    elif cookie:
        token = cookie
    else:
        raise Unauthorized("send 'Authorization: Bearer <token>', or sign in")
    digest = token_hash(token)
    user = db.exec(select(User).where(User.token_hash == digest)).first()
    if user is not None:
        return Principal(user.name, user.role)
    lab = db.exec(select(LabSession).where(LabSession.candidate_token_hash == digest)).first()
    if lab is not None:
        if lab.state not in OPEN_STATES:
            raise Unauthorized(f"this candidate token expired with its session ({lab.state.value})")
        return Principal(lab.candidate, Role.candidate, lab.id)
    login = db.get(Login, digest)
    if login is not None and login.expires_at > utcnow():
        return Principal(login.name, login.role, login.session_id)
    raise Unauthorized("unknown or expired token")


class ExamOver(Forbidden):
    """An exam code whose session has ended, been graded or failed."""


class ExamNotOpen(Forbidden):
    """A sitting's exam code before the sitting's time (`closed` False), or past the window
    to start it (`closed` True); `at` says when it opens, or when the window closed."""

    def __init__(self, at: datetime, closed: bool) -> None:
        self.at, self.closed = at, closed
        when = at.isoformat(timespec="minutes")
        super().__init__(
            f"the time to start this exam ended at {when}"
            if closed
            else f"this exam opens at {when}"
        )


def new_exam_code() -> str:
    """Short enough to type from a sheet of paper, without look-alike characters."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _normal_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def exam_code_hash(code: str) -> str:
    return token_hash(_normal_code(code))


def _sign_in(db: Session, role: Role, name: str, session_id: str | None, hours: float) -> str:
    token = new_token()
    db.add(
        Login(
            token_hash=token_hash(token),
            role=role,
            name=name,
            session_id=session_id,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return token


@cache
def _dummy_hash() -> str:
    return _hasher.hash(new_token())


def sign_in_staff(db: Session, name: str, password: str) -> str:
    """A browser token for a staff member. Raises Unauthorized (one message for any mismatch).
    An unknown name costs the same hash as a known one: timing does not tell names apart."""
    user = db.exec(select(User).where(User.name == name)).first()
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except argon2.exceptions.VerificationError as exc:
        raise Unauthorized("wrong name or password") from exc
    if user is None or stored is None:  # the dummy's password is random: never reached
        raise Unauthorized("wrong name or password")
    return _sign_in(db, user.role, user.name, None, hours=12)


def sign_out(db: Session, token: str | None) -> None:
    """The browser's login ends here, on the server: a copy of its cookie opens nothing."""
    login = db.get(Login, token_hash(token)) if token else None
    if login is not None:
        db.delete(login)


def sign_in_candidate(
    db: Session,
    code: str,
    gate: Callable[[Session, LabSession], None] = lambda db, lab: None,
    unmade: Callable[[Session, str], None] = lambda db, digest: None,
) -> tuple[str, str]:
    """(browser token, session id) for an exam code; `gate` may refuse it first (a sitting's
    session before its time: app.sittings.service.sign_in), and `unmade` says why a code that
    opens no session yet is refused (a sitting's, before its labs are handed out:
    app.sittings.service.not_yet). Raises Unauthorized, Forbidden."""
    digest = exam_code_hash(code)
    lab = db.exec(select(LabSession).where(LabSession.exam_code_hash == digest)).first()
    if lab is None or not _normal_code(code):
        if _normal_code(code):
            unmade(db, digest)
        raise Unauthorized("unknown exam code")
    if lab.state not in OPEN_STATES:
        raise ExamOver(f"this exam is over ({lab.state.value}): its code no longer opens it")
    gate(db, lab)
    return _sign_in(db, Role.candidate, lab.candidate, lab.id, hours=24), lab.id


def set_password(db: Session, name: str, password: str) -> None:
    user = db.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise ValueError(f"no user {name!r}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    user.password_hash = _hasher.hash(password)
    db.add(user)


def create_user(db: Session, name: str, role: Role) -> str:
    """Create a staff user and return their token (shown once, stored hashed)."""
    if role is Role.candidate:
        raise ValueError("candidates have no account: they get a token with their session")
    if db.exec(select(User).where(User.name == name)).first() is not None:
        raise ValueError(f"user {name!r} exists already")
    token = new_token()
    db.add(User(name=name, role=role, token_hash=token_hash(token)))
    return token
