from django.db.models import QuerySet

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import NotFound

from .models import SavedAddress


def saved_addresses_of(*, user) -> QuerySet[SavedAddress]:
    """The user's saved addresses, the default first, then newest first."""
    return SavedAddress.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def saved_address_get_for(*, user, address_id: int, for_update: bool = False) -> SavedAddress:
    """The user's own saved address; another account's is NotFound, as if it did not exist."""
    queryset = SavedAddress.objects.filter(pk=address_id, user=user)
    saved = (queryset.select_for_update() if for_update else queryset).first()
    if saved is None:
        raise NotFound("No such address.", code=ApiErrorCode.NOT_FOUND)
    return saved
