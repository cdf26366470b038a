from django import forms
from django.contrib import admin, messages

from shop.core.errors import InvalidInput

from .models import Product
from .services import edit_product


class ProductChangeForm(forms.ModelForm):
    """A product as staff change it: the stock is moved by a number of units, never set to a
    number read when the form was opened (orders may have sold units since)."""

    stock_change = forms.IntegerField(
        required=False,
        initial=0,
        help_text="Units to add to the stock as it is when you save (negative to remove).",
    )

    class Meta:
        model = Product
        fields = ["name", "description", "price", "category", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "category", "price", "stock", "is_active", "updated_at"]
    list_filter = ["category", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = ProductChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "stock"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        data = {name: form.cleaned_data[name] for name in form.changed_data if name != "stock_change"}
        try:
            saved = edit_product(
                product_id=obj.pk, data=data, stock_change=form.cleaned_data["stock_change"] or 0
            )
        except InvalidInput as exc:
            reasons = "; ".join(error.message for error in exc.errors)
            self.message_user(request, f"Not saved: {reasons}", level=messages.ERROR)
            return None
        obj.stock = saved.stock
        return None
