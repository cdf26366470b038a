from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "category", "price", "stock", "is_active", "updated_at"]
    list_filter = ["category", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
