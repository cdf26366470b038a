from celery import shared_task


@shared_task(name="shop.orders.tasks.purge_idempotency_keys")
def purge_idempotency_keys_task() -> int:
    """Beat, hourly: forgets the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL."""
    from .services import purge_idempotency_keys

    return purge_idempotency_keys()


@shared_task(name="shop.orders.tasks.resume_pending_work")
def resume_pending_work_task() -> dict[str, int]:
    """Beat's sweeper: publishes again the order work that is still pending."""
    from .outbox import resume_pending_work

    return resume_pending_work()
