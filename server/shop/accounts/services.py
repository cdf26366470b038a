"""Writes on accounts: registration and logout."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from shop.api.error_codes import ApiErrorCode
from shop.api.exceptions import ApplicationError

from .models import User


def _field_errors(field: str, messages: list[str], code: str) -> list[dict[str, str]]:
    return [{"field": field, "code": code, "message": message} for message in messages]


@transaction.atomic
def user_create(*, username: str, email: str, password: str) -> User:
    """Creates a customer account; raises ApplicationError naming every offending field."""
    errors = []
    if User.objects.filter(username__iexact=username).exists():
        errors += _field_errors("username", ["A user with that username already exists."], "unique")
    if User.objects.filter(email__iexact=email).exists():
        errors += _field_errors("email", ["A user with that email already exists."], "unique")
    user = User(username=username, email=email)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors += _field_errors("password", exc.messages, "password_invalid")
    if errors:
        raise ApplicationError(
            f"The request has {len(errors)} invalid field(s).",
            code=ApiErrorCode.VALIDATION_ERROR,
            errors=errors,
        )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ApplicationError(
            "A user with that username or email already exists.",
            code=ApiErrorCode.VALIDATION_ERROR,
            errors=_field_errors(
                "username", ["A user with that username or email already exists."], "unique"
            ),
        ) from exc
    return user


def user_logout(*, user: User, refresh: str) -> None:
    """Blacklists one of the user's refresh tokens."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise ApplicationError(str(exc), code=ApiErrorCode.TOKEN_NOT_VALID) from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ApplicationError(
            "The refresh token belongs to another user.", code=ApiErrorCode.TOKEN_NOT_VALID
        )
    token.blacklist()
