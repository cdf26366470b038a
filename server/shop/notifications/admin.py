from django.contrib import admin

from shop.orders.admin_actions import requeue_action

from .models import EmailNotification


@admin.register(EmailNotification)
class EmailNotificationAdmin(admin.ModelAdmin):
    actions = [requeue_action("emails")]
    list_display = ["order", "kind", "recipient", "status", "attempts", "requeues", "sent_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in EmailNotification._meta.fields]
