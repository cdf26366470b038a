"""Validators of order input, shared by the serializers and the service."""

from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from shop.core.errors import DomainError

from .error_codes import OrderErrorCode

MAX_QUANTITY_PER_LINE = 1000
MAX_LINES_PER_ORDER = 50


def validate_positive_quantity(value: int) -> None:
    if value <= 0:
        raise serializers.ValidationError("Quantity must be a positive whole number.", code="min_value")
    if value > MAX_QUANTITY_PER_LINE:
        raise serializers.ValidationError(
            f"At most {MAX_QUANTITY_PER_LINE} units per line.", code="max_value"
        )


# The largest total the order's column holds (numeric(12,2)): 50 lines of 1,000 units at the
# highest price the contract allows would be 500 times more, so such orders are refused.
MAX_ORDER_TOTAL = Decimal("9999999999.99")


def validate_order_total(total: Decimal) -> None:
    """The order total must reach MIN_ORDER_TOTAL and not pass MAX_ORDER_TOTAL. Checked by the
    service under the product locks, where the prices are the ones the order will be charged."""
    minimum = settings.MIN_ORDER_TOTAL
    if total < minimum:
        raise DomainError(
            f"The order total {total} is below the minimum of {minimum}.",
            code=OrderErrorCode.ORDER_TOTAL_BELOW_MINIMUM,
        )
    if total > MAX_ORDER_TOTAL:
        raise DomainError(
            f"The order total {total} is above the maximum of {MAX_ORDER_TOTAL}; split the order.",
            code=OrderErrorCode.ORDER_TOTAL_ABOVE_MAXIMUM,
        )
