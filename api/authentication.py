"""`Authorization: Token <key>` (or `Bearer <key>`) for /api/v1/: the token's user, with exactly
that user's roles and grants; a bad, revoked or expired token or an inactive user is a 401."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from api.selectors import api_token_get_by_key
from api.services import api_token_touch

KEYWORDS = (b"token", b"bearer")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # another scheme (or none): leave it to the session
        if len(parts) != 2:
            raise AuthenticationFailed(_("令牌格式无效：应为 “Token <令牌>” 或 “Bearer <令牌>”。"))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("令牌无效。")) from None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        token = api_token_get_by_key(key)
        if token is None:
            raise AuthenticationFailed(_("令牌无效。"))
        now = timezone.now()
        if token.revoked_at is not None:
            raise AuthenticationFailed(_("令牌已被吊销。"))
        if token.is_expired(now):
            raise AuthenticationFailed(_("令牌已过期。"))
        if not token.user.is_active:
            raise AuthenticationFailed(_("该用户已停用。"))
        api_token_touch(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'
