from celery import shared_task


@shared_task(name="shop.orders.tasks.resume_pending_work")
def resume_pending_work_task() -> dict[str, int]:
    """Beat's sweeper: publishes again the order work that is still pending."""
    from .outbox import resume_pending_work

    return resume_pending_work()
