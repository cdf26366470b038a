from django.contrib import admin

from .models import EmailNotification


@admin.register(EmailNotification)
class EmailNotificationAdmin(admin.ModelAdmin):
    list_display = ["order", "kind", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in EmailNotification._meta.fields]
