from celery import shared_task


@shared_task(name="shop.accounts.tasks.flush_expired_tokens")
def flush_expired_tokens_task() -> int:
    """Beat, hourly: deletes the refresh tokens (and their blacklist rows) that have expired."""
    from .services import flush_expired_tokens

    return flush_expired_tokens()


@shared_task(name="shop.accounts.tasks.purge_email_requests")
def purge_email_requests_task() -> int:
    """Beat, hourly: forgets the requests for reset and verification e-mails older than a day."""
    from .email_requests import purge_email_requests

    return purge_email_requests()
