"""Writes on accounts: registration, token refresh and logout, password changes."""

import time
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import (
    DomainError,
    FieldCode,
    FieldError,
    InvalidInput,
    Unauthenticated,
    django_field_errors,
)

from .email_verification import owe_verification
from .models import User

# Checked by the service, not only the schema: nothing else guards a username created another way.
_USER_FIELDS_NOT_VALIDATED = ["password", "last_login", "date_joined"]


def _field_errors(field: str, messages: list[str], code: FieldCode) -> list[FieldError]:
    return [FieldError.at(field, code, message) for message in messages]


def _model_field_errors(user: User) -> list[FieldError]:
    try:
        user.clean_fields(exclude=_USER_FIELDS_NOT_VALIDATED)
    except DjangoValidationError as exc:
        return django_field_errors(exc)
    return []


@transaction.atomic
def create_user(*, username: str, email: str, password: str) -> User:
    """Creates a customer account (and owes its verification e-mail, unless the server sends
    none); raises InvalidInput naming every offending field."""
    user = User(username=username, email=email)
    errors = _model_field_errors(user)
    if User.objects.filter(username__iexact=username).exists():
        errors += _field_errors("username", ["A user with that username already exists."], FieldCode.UNIQUE)
    if User.objects.filter(email__iexact=email).exists():
        errors += _field_errors("email", ["A user with that email already exists."], FieldCode.UNIQUE)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors += _field_errors("password", exc.messages, FieldCode.PASSWORD_INVALID)
    if errors:
        raise InvalidInput(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        message = "A user with that username or email already exists."
        raise InvalidInput(_field_errors("username", [message], FieldCode.UNIQUE), detail=message) from exc
    owe_verification(user.email)
    return user


def _token_not_valid(detail: str, kind: type[DomainError] = Unauthenticated) -> DomainError:
    return kind(detail, code=ApiErrorCode.TOKEN_NOT_VALID)


def _parse_refresh(raw: str, *, kind: type[DomainError]) -> RefreshToken:
    """A signed, unexpired, not blacklisted refresh token; otherwise raises `kind`: the token is
    the caller's credential when refreshing (Unauthenticated), an input when logging out."""
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise _token_not_valid(str(exc), kind) from exc


def _revoke(token: RefreshToken, user: User | None) -> bool:
    """Blacklists the token. Returns False when it already was: the unique blacklist row decides
    which of several concurrent uses of one token wins."""
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token[jwt_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": str(token),
            "created_at": token.current_time,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def refresh_tokens(*, refresh: str) -> dict[str, str | int]:
    """Rotates a refresh token: returns a new access and refresh token, and blacklists the one
    given. Of several concurrent refreshes with one token exactly one succeeds. A token of a
    deleted or inactive user, or one issued before the user's last password change, is refused."""
    token = _parse_refresh(refresh, kind=Unauthenticated)
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise _token_not_valid("The token's account no longer exists or is inactive.")
    if token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise _token_not_valid("The password has changed since this token was issued.")
    if not _revoke(token, user):
        raise _token_not_valid("Token is blacklisted")
    access = token.access_token
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    return token_pair(access=str(access), refresh=str(token))


def token_pair(*, access: str, refresh: str) -> dict[str, str | int]:
    """The body of a login or refresh: both tokens and the access token's lifetime in seconds."""
    return {
        "access": access,
        "refresh": refresh,
        "expires_in": int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


@transaction.atomic
def logout_user(*, user: User, refresh: str, access: Mapping[str, Any] | None = None) -> None:
    """Ends a session: blacklists its refresh token and, given the access token the request came
    with, refuses that too from now on (every process within TOKEN_CACHE_SECONDS: the row's save
    invalidates the cached user, like a deactivation)."""
    token = _parse_refresh(refresh, kind=DomainError)
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise _token_not_valid("The refresh token belongs to another user.", DomainError)
    _revoke(token, user)
    if access is not None:
        _end_access_token(user_id=user.pk, jti=access[jwt_settings.JTI_CLAIM], expires=access["exp"])


def _end_access_token(*, user_id: int, jti: str, expires: int) -> None:
    user = User.objects.select_for_update().get(pk=user_id)
    now = time.time()
    ended = {known: until for known, until in user.logged_out_tokens.items() if until > now}
    user.logged_out_tokens = {**ended, jti: expires}
    user.save(update_fields=["logged_out_tokens"])


@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str) -> None:
    """Sets a new password and ends every earlier session: all the user's refresh tokens are
    blacklisted, and access tokens issued before now are refused (their password claim no longer
    matches; see CachedJWTAuthentication)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise InvalidInput(
            _field_errors(
                "old_password", ["The current password is not correct."], FieldCode.PASSWORD_INCORRECT
            )
        )
    set_password_ending_sessions(user, new_password)


def set_password_ending_sessions(user: User, new_password: str) -> None:
    """Inside the caller's transaction, with the user's row locked: the new password through
    Django's validators, then every refresh token of the user blacklisted; access tokens issued
    before are refused by their password claim (CachedJWTAuthentication)."""
    try:
        validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(_field_errors("new_password", exc.messages, FieldCode.PASSWORD_INVALID)) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )


def flush_expired_tokens() -> int:
    """simplejwt's `flushexpiredtokens`: every login and refresh leaves an outstanding-token row
    (and a rotation a blacklist row); once the token has expired, the rows only take space.
    Returns how many outstanding tokens went (their blacklist rows go with them)."""
    _, deleted = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted.get(OutstandingToken._meta.label, 0)
