"""The Django admin's way to send failed outbox rows again (the command is `requeue_failed`)."""

from django.contrib import admin

from .outbox import requeue_failed


def requeue_action(kind: str):
    """An admin action that requeues the selected rows of one outbox kind that have failed."""

    # It changes rows: staff who may only view them may not run it.
    @admin.action(description="Send the selected failed rows again", permissions=["change"])
    def requeue_selected(modeladmin, request, queryset) -> None:
        counts = requeue_failed(kinds=[kind], order_ids=queryset.values_list("order_id", flat=True))
        modeladmin.message_user(request, f"Requeued {counts[kind]} failed row(s); the others had not failed.")

    return requeue_selected
