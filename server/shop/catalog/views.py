"""Product endpoints: a view per resource, each method validate → service → serialize."""

from functools import partial

from rest_framework import status
from rest_framework.response import Response

from shop.api.base_views import GenericApiView
from shop.api.cached_responses import cached_json, cached_read, none_match, not_modified, store_after_render
from shop.api.pagination import CappedCountPagination
from shop.api.permissions import IsStaffOrReadOnly
from shop.api.preconditions import if_match_precondition, json_with_etag

from .cache import cached_product_detail, cached_product_list, store_product_detail, store_product_list
from .filters import ProductFilter
from .selectors import product_get, product_list
from .serializers import ProductInputSerializer, ProductOutputSerializer, product_representation
from .services import create_product, retire_product, update_product


class ProductListView(GenericApiView):
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = CappedCountPagination
    filterset_class = ProductFilter
    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        return product_list()

    def get(self, request):
        body, stamp, etag = cached_product_list(request)
        if none_match(request, etag):
            return not_modified(etag, view="product_list")
        if body is not None:
            return cached_json(body, view="product_list", etag=etag)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(ProductOutputSerializer(page, many=True).data)
        return store_after_render(
            response, partial(store_product_list, request, stamp, etag), view="product_list", etag=etag
        )

    def post(self, request):
        serializer = ProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = create_product(**serializer.validated_data)
        headers = {"Location": f"/api/products/{product.pk}/"}
        return Response(
            ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED, headers=headers
        )


class ProductDetailView(GenericApiView):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ProductOutputSerializer

    def get(self, request, pk: int):
        cached, stamp = cached_product_detail(pk)

        def render():
            body, etag = product_representation(product_get(product_id=pk))
            store_product_detail(pk, stamp, etag, body)
            return body, etag

        return cached_read(request, view="product_detail", cached=cached, render=render)

    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    def delete(self, request, pk: int):
        retire_product(product_id=pk, precondition=_if_match(request, stock=False))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request, pk: int, *, partial: bool):
        serializer = ProductInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = update_product(
            product_id=pk, data=data, precondition=_if_match(request, stock="stock" in data)
        )
        return json_with_etag(*product_representation(product))


def _if_match(request, *, stock: bool):
    """`If-Match` against the product as it is now; required when the stock changes (orders change
    it concurrently)."""
    return if_match_precondition(
        request, lambda product: product_representation(product)[1], required=stock, what="product"
    )
