from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.action(description="Deactivate the selected users (their sessions end)", permissions=["change"])
def deactivate_users(modeladmin, request, queryset) -> None:
    # A bulk update that reaches every process's cached user like a save (UserQuerySet.update).
    count = queryset.filter(is_active=True).update(is_active=False)
    modeladmin.message_user(request, f"Deactivated {count} user(s).")


@admin.register(User)
class ShopUserAdmin(UserAdmin):
    actions = [deactivate_users]
