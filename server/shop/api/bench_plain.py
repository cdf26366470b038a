"""The plain DRF implementation `make bench` compares ours with, routed only when BENCH_CEILING is
on: what a competent first version of the same task looks like. JWT authentication (simplejwt's,
reading the user from the database), nested `ModelSerializer`s, `select_for_update`, a Celery
task for the PDF and another for the e-mail, the same rows; none of this project's contract
validation, idempotency, outbox, cache or trimmed write path. Nothing else uses it.

- `POST /bench/plain/orders/`: `{"items": [{"product": id, "quantity": n}]}` → 201 with the order.
- `GET /bench/plain/products/`: a `ListAPIView` of active products, 20 a page.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework_simplejwt.authentication import JWTAuthentication

from shop.catalog.models import Product
from shop.invoices.models import Invoice
from shop.invoices.tasks import generate_invoice_task
from shop.notifications.services import confirmation_for
from shop.notifications.tasks import send_order_confirmation_task
from shop.orders.models import Order, OrderItem, OrderStatus, OrderStatusChange


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
        now = timezone.now()
        Invoice.objects.create(order=order, enqueued_at=now)
        confirmation_for(order, enqueued_at=now)
        transaction.on_commit(lambda: generate_invoice_task.delay(order_id=order.pk))
        transaction.on_commit(lambda: send_order_confirmation_task.delay(order_id=order.pk))
        return order


class PlainOrderCreate(generics.CreateAPIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = PlainOrderSerializer
