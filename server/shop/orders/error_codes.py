from enum import StrEnum


class OrderErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    ORDER_TOTAL_BELOW_MINIMUM = "order_total_below_minimum"
    ORDER_TOTAL_ABOVE_MAXIMUM = "order_total_above_maximum"
    INVALID_STATUS_TRANSITION = "invalid_status_transition"
    STATUS_CHANGE_FORBIDDEN = "status_change_forbidden"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    SHIPPING_ADDRESS_MISSING = "shipping_address_missing"
    SHIPPING_ADDRESS_LOCKED = "shipping_address_locked"
