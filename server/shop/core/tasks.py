from celery import shared_task


@shared_task(name="shop.core.tasks.deliver_invalidations")
def deliver_invalidations_task() -> int:
    """Beat, every CACHE_REDELIVERY_INTERVAL: bumps the cache versions another process could not."""
    from .cache import deliver_invalidations

    return deliver_invalidations()
