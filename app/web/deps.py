"""Who may open a staff page, as a dependency: a page sends strangers to the sign-in form, a
fragment polled by htmx answers 401 (a redirect would swap the sign-in form into the table)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, HTTPException

from app.api.deps import COOKIE, SessionDep
from app.auth import Principal, authenticate
from app.errors import Forbidden, Unauthorized
from app.models import Role


class StaffOnly:
    def __init__(self, *roles: Role, fragment: bool = False) -> None:
        self.roles = roles
        self.fragment = fragment

    def __call__(
        self, db: SessionDep, token: Annotated[str | None, Cookie(alias=COOKIE)] = None
    ) -> Principal:
        try:
            who = authenticate(db, None, token)
            if who.role is Role.candidate:
                raise Forbidden("candidates have no staff pages")
            who.require(*self.roles)
        except (Unauthorized, Forbidden) as exc:
            if self.fragment:
                raise HTTPException(401, "sign in again") from exc
            raise HTTPException(303, "sign in first", headers={"Location": "/login"}) from exc
        return who


Examiner = Annotated[Principal, Depends(StaffOnly(Role.examiner))]
ExaminerFragment = Annotated[Principal, Depends(StaffOnly(Role.examiner, fragment=True))]
Staff = Annotated[Principal, Depends(StaffOnly(Role.instructor, Role.examiner))]
