"""JWT authentication with the user row cached (cache.py), so that a cached read costs no query.

The cached user is invalidated after commit whenever the user row is saved or deleted
(signals.py), under a version a racing reader cannot store a stale row past, and lives at most
USER_CACHE_TTL seconds, which bounds how long a change made behind the ORM's back (a queryset
`update()`) can go unseen.

Every token carries a fingerprint of the password hash it was issued under (simplejwt's
`CHECK_REVOKE_TOKEN` claim). A token whose fingerprint no longer matches the user's password is
refused, so a password change, through the API, the admin or `set_password`, ends every session
that was opened before it. A logout ends its access token the same way: its id is kept on the
user's row (`logged_out_tokens`) until it expires."""

import functools

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from .cache import cached_user, store_user
from .recent_tokens import recent_tokens


class CachedJWTAuthentication(JWTAuthentication):
    def __init__(self) -> None:
        # simplejwt's looks the user model up in the app registry; DRF makes one of these per request
        self.user_model = _user_model()

    def authenticate(self, request):
        """simplejwt's, with the tokens verified in the last TOKEN_CACHE_SECONDS remembered."""
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        if (recent := recent_tokens.get(raw_token)) is not None:
            return recent
        validated_token = self.get_validated_token(raw_token)
        user = self.get_user(validated_token)
        recent_tokens.put(raw_token, user, validated_token)  # kept for nothing when the bound is 0
        return user, validated_token

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user, stamp = cached_user(user_id)
        if user is None:
            user = self.user_model.objects.filter(pk=user_id).first()
            if user is None:
                raise AuthenticationFailed("User not found", code="user_not_found")
            store_user(user_id, stamp, user)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise InvalidToken("The password has changed since this token was issued.")
        if validated_token.get(api_settings.JTI_CLAIM) in user.logged_out_tokens:
            raise InvalidToken("This session was logged out.")
        return user


@functools.cache
def _user_model():
    return get_user_model()
