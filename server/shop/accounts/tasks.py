from celery import shared_task


@shared_task(name="shop.accounts.tasks.flush_expired_tokens")
def flush_expired_tokens_task() -> int:
    """Beat, hourly: deletes the refresh tokens (and their blacklist rows) that have expired."""
    from .services import flush_expired_tokens

    return flush_expired_tokens()
