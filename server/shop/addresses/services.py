"""Writes on saved addresses, and the copy an order takes of an address."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from shop.core.errors import Conflict, FieldCode, FieldError, InvalidInput

from .error_codes import AddressErrorCode
from .models import MAX_SAVED_ADDRESSES, SavedAddress
from .selectors import saved_address_get_for


def _take_default(user_id: int) -> None:
    """No other address of the user is the default any more (before one becomes it)."""
    SavedAddress.objects.filter(user_id=user_id, is_default=True).update(is_default=False)


@transaction.atomic
def create_saved_address(*, user, address: dict[str, str], is_default: bool) -> SavedAddress:
    """Saves an address; the user's first is their default. The user's row is locked so that two
    concurrent saves cannot both pass the limit."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    saved = SavedAddress.objects.filter(user=user).count()
    if saved >= MAX_SAVED_ADDRESSES:
        raise Conflict(
            f"You already keep {MAX_SAVED_ADDRESSES} saved addresses, the most an account may: "
            "delete one first.",
            code=AddressErrorCode.ADDRESS_LIMIT_REACHED,
        )
    if is_default or saved == 0:
        _take_default(user.pk)
        is_default = True
    return SavedAddress.objects.create(user=user, is_default=is_default, **address)


@transaction.atomic
def update_saved_address(
    *, user, address_id: int, address: dict[str, str] | None = None, is_default: bool | None = None
) -> SavedAddress:
    saved = saved_address_get_for(user=user, address_id=address_id, for_update=True)
    changed = ["updated_at"]
    if address is not None:
        for field, value in address.items():
            setattr(saved, field, value)
        changed += list(address)
    if is_default is not None and is_default != saved.is_default:
        if is_default:
            _take_default(user.pk)
        saved.is_default = is_default
        changed.append("is_default")
    saved.save(update_fields=changed)
    return saved


def delete_saved_address(*, user, address_id: int) -> None:
    saved_address_get_for(user=user, address_id=address_id).delete()


def address_copy(*, user, given: dict[str, Any] | None, field: str) -> dict[str, str] | None:
    """The fields an order copies for an address it was given: written out, or the caller's saved
    address `{"saved_address": id}` as it is now (another account's id does not exist, for this
    caller). None when none was given."""
    if given is None or "saved_address" not in given:
        return given
    saved = SavedAddress.objects.filter(pk=given["saved_address"], user=user).first()
    if saved is None:
        raise InvalidInput(
            [
                FieldError.at(
                    f"{field}.saved_address",
                    FieldCode.DOES_NOT_EXIST,
                    f"You have no saved address {given['saved_address']}.",
                )
            ]
        )
    return saved.as_dict()
