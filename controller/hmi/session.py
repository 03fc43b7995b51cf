"""The HMI's session: the API's bearer token in an HttpOnly, SameSite=Strict cookie, and the
CSRF token every POST must carry.

- Signed in, the CSRF token is an HMAC of the session token (nothing stored on the server): a
  page on another site can neither read the cookie nor compute the token.
- The login form, before any session, uses a random pre-session cookie whose value the form
  echoes (double submit).

A POST carries the token in the form field ``csrf_token`` or the header ``X-CSRF-Token``
(htmx sends it from ``hx-headers`` on the page body)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, Response, status

from controller.api import auth

SESSION_COOKIE = "poreline_session"
LOGIN_CSRF_COOKIE = "poreline_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class NotSignedIn(Exception):
    """No session, or its token no longer works: the page sends the browser to the login form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"poreline-hmi-csrf", hashlib.sha256).hexdigest()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/hmi/login")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def login_csrf(request: Request) -> str:
    """The login form's CSRF token: the pre-session cookie's value, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, value, httponly=True, samesite="strict", secure=_secure(request),
                        path="/hmi/login")


def _submitted(request: Request, form_value: str | None) -> str:
    return form_value or request.headers.get(CSRF_HEADER, "")


def check_login_csrf(request: Request, form_value: str | None) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, _submitted(request, form_value)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page")


def check_csrf(request: Request, user: auth.CurrentUser, form_value: str | None) -> None:
    if not hmac.compare_digest(csrf_for(user.token), _submitted(request, form_value)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page")


async def signed_in(request: Request) -> auth.CurrentUser:
    """The user of the session cookie; :class:`NotSignedIn` when there is none or it stopped working."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn("")
    try:
        return await auth.user_for_token(request, token)
    except HTTPException as exc:
        raise NotSignedIn(str(exc.detail)) from None
