"""Password reset by e-mail: the request (always the same work), the e-mail (the outbox's
`password_reset_email` kind, registered in apps.py; the token is made when it is sent) and the
confirmation (a token good once, then every earlier session ended)."""

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from shop.core.errors import FieldCode, FieldError, InvalidInput
from shop.outbox.kinds import Outcome
from shop.outbox.models import Entry, EntryStatus

from .email_requests import account_of_request, mail_account, owe_email
from .models import EmailPurpose, User
from .services import set_password_ending_sessions

logger = logging.getLogger(__name__)

KIND = "password_reset_email"
NOT_VALID = "This reset link is not valid any more: ask for a new one."


@transaction.atomic
def request_password_reset(*, email: str) -> None:
    """Records the request and owes its e-mail: two inserts and one publish, whether or not an
    account uses the address (the worker looks it up), so the answer says nothing about it."""
    owe_email(KIND, email, EmailPurpose.PASSWORD_RESET)


def send_password_reset(entry: Entry) -> Outcome:
    """The reset e-mail of request `entry.object_id`: skipped when no active account uses the
    address; otherwise a link with the account's uid and a token made now (valid
    PASSWORD_RESET_TIMEOUT seconds, once)."""
    user = account_of_request(entry)
    if user is None:
        return Outcome(EntryStatus.SKIPPED, "no active account uses this address")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.PASSWORD_RESET_LINK.format(uid=uid, token=token)
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    mail_account(
        user,
        "reset your password",
        f"someone (we hope you) asked to reset the password of your account at {settings.SHOP_NAME}. "
        f"Follow this link within {minutes} minutes to choose a new one:\n\n{link}\n\n"
        f"(uid: {uid}, token: {token})\n\nIf it was not you, ignore this e-mail: your password "
        "stays as it is.\n",
    )
    logger.info("event=password_reset_sent user_id=%s", user.pk)
    return Outcome()


def _user_of(uid: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return User.objects.select_for_update().filter(pk=pk, is_active=True).first()


@transaction.atomic
def confirm_password_reset(*, uid: str, token: str, new_password: str) -> None:
    """Sets the new password if the token is good for the account `uid` names, and ends every
    earlier session. The account's row is locked first, so of two uses of one token exactly one
    wins (the second sees the new password, which the token no longer matches)."""
    user = _user_of(uid)
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidInput([FieldError.at("token", FieldCode.INVALID, NOT_VALID)])
    set_password_ending_sessions(user, new_password)
    logger.info("event=password_reset_done user_id=%s", user.pk)
