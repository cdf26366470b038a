"""Order endpoints: validate → service or selector → serialize."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from shop.addresses.serializers import AddressInputSerializer
from shop.api.base_views import GenericApiView
from shop.api.cached_responses import cached_read
from shop.api.pagination import CappedCountPagination, KeysetCursorPagination
from shop.api.preconditions import if_match_precondition, json_with_etag
from shop.api.throttling import OrderCreateThrottle, ScopedRateThrottle

from .cache import cached_order_detail, store_order_detail
from .export import csv_lines
from .filters import AdminOrderFilter, OrderFilter
from .models import Order
from .permissions import can_view_order
from .selectors import order_detail, order_get_for, order_list_all, order_list_for_user, order_not_found
from .serializers import (
    OrderCreateInputSerializer,
    OrderOutputSerializer,
    OrderStatusInputSerializer,
    order_data,
    order_representation,
)
from .services import change_order_status, change_shipping_address, place_order


class _OrderListView(GenericApiView):
    pagination_class = CappedCountPagination  # a count that costs the same at 2M orders
    serializer_class = OrderOutputSerializer

    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrderOutputSerializer(page, many=True).data)


class OrderListView(_OrderListView):
    filterset_class = OrderFilter

    def get_queryset(self):
        return order_list_for_user(user=self.request.user)

    def get_throttles(self):
        return [OrderCreateThrottle()] if self.request.method == "POST" else []

    def post(self, request):
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = place_order(
            user=request.user,
            items=serializer.validated_data["items"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            shipping_address=serializer.validated_data.get("shipping_address"),
            billing_address=serializer.validated_data.get("billing_address"),
        )
        headers = {"Location": f"/api/orders/{order.pk}/"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(order_data(order), status=status.HTTP_201_CREATED, headers=headers)


class AdminOrderListView(_OrderListView):
    permission_classes = [IsAdminUser]
    pagination_class = KeysetCursorPagination  # deep pages by cursor
    filterset_class = AdminOrderFilter

    def get_queryset(self):
        return order_list_all()


class AdminOrderExportView(GenericApiView):
    """Every order the staff list's filters find, as a streamed CSV file (orders/export.py)."""

    permission_classes = [IsAdminUser]
    filterset_class = AdminOrderFilter
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "export"

    def get(self, request):
        orders = self.filter_queryset(Order.objects.order_by("-created_at", "-id"))
        response = StreamingHttpResponse(csv_lines(orders), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response


class OrderDetailView(GenericApiView):
    serializer_class = OrderOutputSerializer

    def get(self, request, pk: int):
        cached, stamp = cached_order_detail(pk)
        if cached is not None:
            owner_id, *cached = cached
            if not can_view_order(request.user, owner_id):  # the permission check, on a hit
                raise order_not_found()

        def render():
            order = order_get_for(user=request.user, order_id=pk)  # the permission check, on a miss
            body, etag = order_representation(order)
            store_order_detail(pk, stamp, order.user_id, etag, body)
            return body, etag

        return cached_read(request, view="order_detail", cached=cached, render=render)

    def patch(self, request, pk: int):
        serializer = OrderStatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = change_order_status(
            order_id=pk,
            actor=request.user,
            status=serializer.validated_data["status"],
            precondition=if_match_precondition(request, _current_etag, required=False, what="order"),
        )
        return json_with_etag(*order_representation(order))  # no query: read before the commit


class OrderShippingAddressView(GenericApiView):
    permission_classes = [IsAdminUser]

    def put(self, request, pk: int):
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = change_shipping_address(
            order_id=pk,
            actor=request.user,
            address=dict(serializer.validated_data),
            precondition=if_match_precondition(request, _current_etag, required=True, what="order"),
        )
        return json_with_etag(*order_representation(order))  # no query: read before the commit


def _current_etag(order) -> str:
    """The ETag of the locked order as a read would render it now (with its lines and history)."""
    return order_representation(order_detail(order.pk))[1]
