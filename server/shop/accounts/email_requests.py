"""The e-mails about an account that anyone may ask for by address (a reset link, a verification
link): a request row and the outbox entry that owes its e-mail, written the same whether or not an
account uses the address; the worker looks the account up."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from shop.core.mail import send
from shop.outbox.models import Entry
from shop.outbox.publish import owe, publish_on_commit

from .models import EmailPurpose, EmailRequest, User


def owe_email(kind: str, email: str, purpose: EmailPurpose) -> None:
    """In the caller's transaction: records the request for `email` and owes the e-mail of `kind`
    about it, whether or not an account uses the address (the worker looks it up)."""
    request = EmailRequest.objects.create(email=email, purpose=purpose)
    publish_on_commit(owe(kind, request.pk))


def account_of_request(entry: Entry) -> User | None:
    """The active account using the address of the request `entry.object_id`, if any."""
    request = EmailRequest.objects.filter(pk=entry.object_id).first()
    if request is None:
        return None
    return User.objects.filter(email__iexact=request.email, is_active=True).first()


def mail_account(user: User, subject: str, text: str) -> None:
    """Sends `user` an e-mail from the shop: "<shop>: <subject>", greeting them by name."""
    send(
        EmailMessage(
            subject=f"{settings.SHOP_NAME}: {subject}",
            body=f"Hello {user.username},\n\n{text}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
    )


def purge_email_requests() -> int:
    """Requests older than a day are of no use (their e-mails were sent or skipped long ago);
    returns how many went."""
    cutoff = timezone.now() - timedelta(days=1)
    return EmailRequest.objects.filter(created_at__lt=cutoff).delete()[0]
