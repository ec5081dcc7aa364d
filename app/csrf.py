"""CSRF tokens for what a browser posts with its cookie: forms send one as the `csrf` field,
scripts as the `X-CSRF-Token` header. The token is derived from the sign-in cookie (so it is
per login and dies with it) or, before signing in, from a random pre-login cookie; a page
from another site cannot read either. Calls with a Bearer token carry no cookie risk."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import HTTPConnection

from app.auth import new_token
from app.errors import Forbidden

COOKIE = "praxis"  # a browser's sign-in token (HttpOnly, SameSite=Strict)
PRE_COOKIE = "praxis_pre"  # before signing in: what the sign-in forms' token is made from
HEADER = "X-CSRF-Token"
FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def derive(secret: str) -> str:
    return hashlib.sha256(f"csrf:{secret}".encode()).hexdigest()


def expected(request: HTTPConnection) -> str | None:
    secret = request.cookies.get(COOKIE) or request.cookies.get(PRE_COOKIE)
    return derive(secret) if secret else None


def check(request: HTTPConnection, given: str | None) -> None:
    """Raises Forbidden unless `given` is this browser's token."""
    want = expected(request)
    if not want or not given or not hmac.compare_digest(want, given):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")


def secure(request: HTTPConnection, always: bool) -> bool:
    """Cookies marked `Secure` over HTTPS, or always behind a TLS-terminating proxy that does
    not say `X-Forwarded-Proto` (PRAXIS_SECURE_COOKIES)."""
    return always or request.url.scheme == "https"


def page_token(request: HTTPConnection) -> tuple[str, str | None]:
    """(the token a page embeds, a new pre-login secret to set as PRE_COOKIE or None)."""
    want = expected(request)
    if want:
        return want, None
    fresh = new_token()
    return derive(fresh), fresh
