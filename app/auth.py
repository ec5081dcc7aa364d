"""Bearer tokens: staff tokens belong to users, a candidate token opens exactly one session."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from app.errors import Forbidden, Unauthorized
from app.models import LabSession, Role, User


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


def authenticate(db: Session, authorization: str | None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    digest = token_hash(token.strip())
    user = db.exec(select(User).where(User.token_hash == digest)).first()
    if user is not None:
        return Principal(user.name, user.role)
    lab = db.exec(select(LabSession).where(LabSession.candidate_token_hash == digest)).first()
    if lab is not None:
        return Principal(lab.candidate, Role.candidate, lab.id)
    raise Unauthorized("unknown token")


def create_user(db: Session, name: str, role: Role) -> str:
    """Create a staff user and return their token (shown once, stored hashed)."""
    if role is Role.candidate:
        raise ValueError("candidates have no account: they get a token with their session")
    if db.exec(select(User).where(User.name == name)).first() is not None:
        raise ValueError(f"user {name!r} exists already")
    token = new_token()
    db.add(User(name=name, role=role, token_hash=token_hash(token)))
    return token
