"""The plain DRF implementation `make bench` compares ours with (routed only in the bench's
stack): what a competent first version of the same task looks like. JWT authentication
(simplejwt's, reading the user from the database), nested `ModelSerializer`s, stock logic in
`serializer.create()`, a `select_for_update` and a save per line; the same background work as
ours; none of this project's contract validation, idempotency, cache or trimmed write path.

- `POST /bench/plain/orders/`: `{"items": [{"product": id, "quantity": n}]}` → 201 with the order.
- `GET /bench/plain/products/`: a `ListAPIView` of active products, 20 a page.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework_simplejwt.authentication import JWTAuthentication

from shop.catalog.models import Product
from shop.orders.models import Order, OrderItem, OrderStatus, OrderStatusChange
from shop.orders.work import OrderWork
from shop.outbox.publish import owe, publish_on_commit


class PlainProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "description", "price", "stock", "category", "created_at", "updated_at"]


class PlainPagination(PageNumberPagination):
    page_size = 20


class PlainProductList(generics.ListAPIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = PlainProductSerializer
    pagination_class = PlainPagination
    queryset = Product.objects.filter(is_active=True).order_by("id")


class PlainOrderItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["product", "product_name", "quantity", "price_at_purchase"]
        read_only_fields = ["product_name", "price_at_purchase"]


class PlainOrderSerializer(serializers.ModelSerializer):
    items = PlainOrderItemSerializer(many=True)

    class Meta:
        model = Order
        fields = ["id", "status", "total_price", "currency", "created_at", "items"]
        read_only_fields = ["id", "status", "total_price", "currency", "created_at"]

    @transaction.atomic
    def create(self, validated_data):
        user = self.context["request"].user
        order = Order.objects.create(
            user=user, status=OrderStatus.PENDING, total_price=0, currency=settings.SHOP_CURRENCY
        )
        total = Decimal("0")
        for item in validated_data["items"]:
            product = Product.objects.select_for_update().get(pk=item["product"].pk)
            if product.stock < item["quantity"]:
                raise serializers.ValidationError({"items": f"not enough stock of {product.pk}"})
            product.stock -= item["quantity"]
            product.save(update_fields=["stock"])
            OrderItem.objects.create(
                order=order,
                product=product,
                product_name=product.name,
                quantity=item["quantity"],
                price_at_purchase=product.price,
            )
            total += product.price * item["quantity"]
        order.total_price = total
        order.save(update_fields=["total_price"])
        OrderStatusChange.objects.create(order=order, to_status=OrderStatus.PENDING, changed_by=user)
        # The same background work as ours: the bench compares the web's write path.
        invoice = owe(OrderWork.INVOICE, order.pk)
        publish_on_commit(invoice, owe(OrderWork.ORDER_CONFIRMATION, order.pk, after=invoice))
        return order


class PlainOrderCreate(generics.CreateAPIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = PlainOrderSerializer
