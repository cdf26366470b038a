from django.contrib import admin

from .models import SavedAddress


@admin.register(SavedAddress)
class SavedAddressAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "name", "city", "country", "is_default", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "postal_code"]
    raw_id_fields = ["user"]
