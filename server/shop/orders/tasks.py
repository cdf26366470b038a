from celery import shared_task


@shared_task(name="shop.orders.tasks.purge_idempotency_keys")
def purge_idempotency_keys_task() -> int:
    """Beat, hourly: forgets the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL."""
    from .services import purge_idempotency_keys

    return purge_idempotency_keys()
