"""E-mail verification (ACCOUNT_EMAIL_VERIFICATION): the e-mail (the outbox's `email_verification`
kind, registered in apps.py, owed at registration and by a resend request, through the same
request rows as password reset) and its confirmation. The token is Django's signed, timestamped
value of the account and the address: good for EMAIL_VERIFICATION_TIMEOUT seconds and only while
the account still has that address."""

import logging

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from shop.core.errors import FieldCode, FieldError, Forbidden, InvalidInput
from shop.outbox.kinds import Outcome
from shop.outbox.models import Entry, EntryStatus

from .email_requests import account_of_request, mail_account, owe_email
from .error_codes import AccountErrorCode
from .models import EmailPurpose, User

logger = logging.getLogger(__name__)

KIND = "email_verification"
SALT = "shop.accounts.email_verification"
NOT_VALID = "This verification link is not valid any more: ask for a new one."


def owe_verification(email: str) -> None:
    """In the caller's transaction (a registration, a resend): the verification e-mail is owed,
    unless the server sends none."""
    if settings.ACCOUNT_EMAIL_VERIFICATION != "none":
        owe_email(KIND, email, EmailPurpose.EMAIL_VERIFICATION)


@transaction.atomic
def request_email_verification(*, email: str) -> None:
    """The same work whether or not an account uses the address: the worker looks it up."""
    owe_verification(email)


def make_token(user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email.lower()}, salt=SALT, compress=True)


def send_email_verification(entry: Entry) -> Outcome:
    user = account_of_request(entry)
    if user is None:
        return Outcome(EntryStatus.SKIPPED, "no active account uses this address")
    if user.email_verified:
        return Outcome(EntryStatus.SKIPPED, "the address is confirmed already")
    token = make_token(user)
    days = settings.EMAIL_VERIFICATION_TIMEOUT / 86400
    mail_account(
        user,
        "confirm your e-mail address",
        f"please confirm that this is your e-mail address at {settings.SHOP_NAME} by following "
        f"this link within {days:g} days:\n\n{settings.EMAIL_VERIFICATION_LINK.format(token=token)}"
        f"\n\n(token: {token})\n\nIf you did not open an account with us, ignore this e-mail.\n",
    )
    logger.info("event=email_verification_sent user_id=%s", user.pk)
    return Outcome()


@transaction.atomic
def verify_email(*, token: str) -> None:
    """Confirms the address the token was made for, if the account still has it; a second use
    changes nothing."""
    try:
        claims = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_TIMEOUT)
        user = User.objects.select_for_update().filter(pk=claims["user"], is_active=True).first()
        valid = user is not None and user.email.lower() == claims["email"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise InvalidInput([FieldError.at("token", FieldCode.INVALID, NOT_VALID)])
    if not user.email_verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        logger.info("event=email_verified user_id=%s", user.pk)


def check_may_log_in(user: User) -> None:
    """With ACCOUNT_EMAIL_VERIFICATION=mandatory, an account logs in once its address is confirmed."""
    if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not user.email_verified:
        raise Forbidden(
            "Confirm your e-mail address first: follow the link we sent you, or ask for a new one.",
            code=AccountErrorCode.EMAIL_NOT_VERIFIED,
        )
