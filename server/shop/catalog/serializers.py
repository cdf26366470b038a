from django.conf import settings
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from shop.core.etags import representation_tag

from .models import Category, Product

NAME_FIELD = {"max_length": 200, "trim_whitespace": False}


class ProductOutputSerializer(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "description",
            "price",
            "currency",
            "stock",
            "category",
            "created_at",
            "updated_at",
        ]

    def get_currency(self, product: Product) -> str:
        return settings.SHOP_CURRENCY


class ProductInputSerializer(serializers.Serializer):
    name = serializers.CharField(**NAME_FIELD)
    description = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False, default="")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000_000)
    category = serializers.ChoiceField(choices=Category.choices)


def product_representation(product: Product) -> tuple[bytes, str]:
    """The product's JSON and its strong ETag. The one rendering of a product, for reads and for
    checking `If-Match` alike, so that the tag a client holds is comparable to the current one."""
    body = JSONRenderer().render(ProductOutputSerializer(product).data)
    return body, representation_tag(body)
