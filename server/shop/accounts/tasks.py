from celery import shared_task


@shared_task(name="shop.accounts.tasks.flush_expired_tokens")
def flush_expired_tokens_task() -> int:
    """Beat, hourly: deletes the refresh tokens (and their blacklist rows) that have expired."""
    from .services import flush_expired_tokens

    return flush_expired_tokens()


@shared_task(name="shop.accounts.tasks.purge_password_reset_requests")
def purge_password_reset_requests_task() -> int:
    """Beat, hourly: forgets the password-reset requests older than a day."""
    from .password_reset import purge_password_reset_requests

    return purge_password_reset_requests()
