from django.contrib import admin

from .models import Entry
from .requeue import requeue_failed


# It changes entries: staff who may only view them may not run it.
@admin.action(description="Send the selected failed entries again", permissions=["change"])
def requeue_selected(modeladmin, request, queryset) -> None:
    counts = requeue_failed(entry_ids=queryset.values_list("pk", flat=True))
    modeladmin.message_user(
        request, f"Requeued {sum(counts.values())} failed entry(ies); the others had not failed."
    )


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    actions = [requeue_selected]
    list_display = ["kind", "object_id", "status", "attempts", "requeues", "created_at", "settled_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=object_id"]
    readonly_fields = [field.name for field in Entry._meta.fields]
