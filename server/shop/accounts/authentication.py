"""JWT authentication with the user row cached, so that a cached read costs no query at all.

The cached user is dropped after commit whenever the user row is saved or deleted (signals.py),
and lives at most USER_CACHE_TTL seconds, which bounds how long a change made behind the ORM's
back (a queryset `update()`) can go unseen."""

from django.conf import settings
from django.core.cache import cache
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings


def user_cache_key(user_id) -> str:
    return f"accounts:user:{user_id}"


class CachedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            return super().get_user(validated_token)  # raises the usual InvalidToken
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(validated_token)  # raises for a missing or inactive user
            cache.set(key, user, timeout=settings.USER_CACHE_TTL)
        elif not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user
