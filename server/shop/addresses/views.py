"""Saved addresses: validate → service or selector → serialize."""

from rest_framework import status
from rest_framework.response import Response

from shop.api.base_views import ApiView

from .selectors import saved_address_get_for, saved_addresses_of
from .serializers import (
    SavedAddressCreateSerializer,
    SavedAddressOutputSerializer,
    SavedAddressPatchSerializer,
)
from .services import create_saved_address, delete_saved_address, update_saved_address


class AddressListView(ApiView):
    def get(self, request):
        addresses = saved_addresses_of(user=request.user)
        return Response({"results": SavedAddressOutputSerializer(addresses, many=True).data})

    def post(self, request):
        serializer = SavedAddressCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = create_saved_address(
            user=request.user,
            address=dict(serializer.validated_data["address"]),
            is_default=serializer.validated_data["is_default"],
        )
        return Response(
            SavedAddressOutputSerializer(saved).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/addresses/{saved.pk}/"},
        )


class AddressDetailView(ApiView):
    def get(self, request, pk: int):
        return Response(
            SavedAddressOutputSerializer(saved_address_get_for(user=request.user, address_id=pk)).data
        )

    def patch(self, request, pk: int):
        serializer = SavedAddressPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = serializer.validated_data.get("address")
        saved = update_saved_address(
            user=request.user,
            address_id=pk,
            address=dict(address) if address is not None else None,
            is_default=serializer.validated_data.get("is_default"),
        )
        return Response(SavedAddressOutputSerializer(saved).data)

    def delete(self, request, pk: int):
        delete_saved_address(user=request.user, address_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
