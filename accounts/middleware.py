"""Idle session timeout without a database write on every request.

A session lives SESSION_COOKIE_AGE seconds (SESSION_IDLE_SECONDS) from its last save. Saving on
every request (SESSION_SAVE_EVERY_REQUEST) would add a write transaction to every page, API and
GeoJSON request; instead the session is re-saved — and its expiry pushed back — at most once per
SESSION_REFRESH_SECONDS. A session therefore ends between IDLE − REFRESH and IDLE seconds after
the last request (29–30 minutes by default).
"""

import time

from django.conf import settings

MARK = "_civicgrid_refreshed"


def session_mark_fresh(session) -> None:
    session[MARK] = int(time.time())


def on_logged_in(sender, request, user, **kwargs) -> None:
    """A new login's session was just saved with a full lifetime: no refresh needed yet."""
    if getattr(request, "session", None) is not None:
        session_mark_fresh(request.session)


class SessionIdleMiddleware:
    """Placed after SessionMiddleware: marks a signed-in session modified when its last refresh
    is older than SESSION_REFRESH_SECONDS, so SessionMiddleware saves it with a new expiry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only sessions the request already read (no extra query) and that hold something
        # (a flushed session after logout stays gone).
        if session is None or not session.accessed or session.is_empty():
            return response
        last = session.get(MARK, 0)
        if time.time() - last >= settings.SESSION_REFRESH_SECONDS:
            session_mark_fresh(session)
        return response
