"""The address as the contract's `AddressInput` takes it and `Address` shows it. The contract's
patterns (trimmed, no control characters) are checked by the contract middleware before any view;
these serializers hold the lengths and the ISO 3166-1 codes, for every caller."""

from django_countries import countries
from rest_framework import serializers

TEXT = {"trim_whitespace": False}
OPTIONAL = {"trim_whitespace": False, "allow_blank": True, "default": ""}


class AddressInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, **TEXT)
    line1 = serializers.CharField(max_length=200, **TEXT)
    line2 = serializers.CharField(max_length=200, **OPTIONAL)
    city = serializers.CharField(max_length=100, **TEXT)
    region = serializers.CharField(max_length=100, **OPTIONAL)
    postal_code = serializers.RegexField(r"^[A-Za-z0-9]([A-Za-z0-9 -]{0,18}[A-Za-z0-9])?$", max_length=20)
    country = serializers.ChoiceField(choices=[code for code, _ in countries])
    phone = serializers.RegexField(r"^(\+?[0-9][0-9 ()-]{1,30}[0-9])?$", max_length=32, **OPTIONAL)


class SavedAddressRefSerializer(serializers.Serializer):
    saved_address = serializers.IntegerField(min_value=1)


class AddressChoiceField(serializers.Field):
    """An address written out (`AddressInput`) or one of the caller's saved addresses named by id
    (`{"saved_address": 7}`): the contract's `oneOf`. Validates to the address's fields (a dict)
    or to `{"saved_address": id}`; `shop.addresses.services.address_copy` turns either into the
    fields an order copies."""

    default_error_messages = {"invalid": "An address, or {'saved_address': <id>}."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        serializer = (SavedAddressRefSerializer if "saved_address" in data else AddressInputSerializer)(
            data=data
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def to_representation(self, value):  # pragma: no cover - input only
        raise NotImplementedError


class AddressOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()


class SavedAddressOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    address = AddressOutputSerializer(source="*")
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SavedAddressCreateSerializer(serializers.Serializer):
    address = AddressInputSerializer()
    is_default = serializers.BooleanField(default=False)


class SavedAddressPatchSerializer(serializers.Serializer):
    address = AddressInputSerializer(required=False)
    is_default = serializers.BooleanField(required=False)
