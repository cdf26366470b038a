"""Who may move an order from which status to which: the single table the API consults."""

from shop.core.errors import Conflict, Forbidden

from .error_codes import OrderErrorCode
from .models import OrderStatus as S

STAFF_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
OWNER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CANCELLED}),
    S.PROCESSING: frozenset(),
    S.SHIPPED: frozenset(),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
OWNER_TARGETS = frozenset().union(*OWNER_TRANSITIONS.values())


def allowed_targets(current: str, *, is_staff: bool) -> frozenset[str]:
    """The statuses this kind of caller may move an order in `current` to."""
    return (STAFF_TRANSITIONS if is_staff else OWNER_TRANSITIONS)[current]


def check_transition(current: str, target: str, *, is_staff: bool) -> None:
    """Raises unless the caller may move the order from `current` to `target`: Forbidden for a
    target this kind of caller may never set, Conflict for one not reachable from `current`."""
    if not is_staff and target not in OWNER_TARGETS:
        raise Forbidden(
            f"Customers may only cancel their orders, not move them to '{target}'.",
            code=OrderErrorCode.STATUS_CHANGE_FORBIDDEN,
        )
    allowed = allowed_targets(current, is_staff=is_staff)
    if target not in allowed:
        raise Conflict(
            f"Cannot move an order from '{current}' to '{target}'.",
            code=OrderErrorCode.INVALID_STATUS_TRANSITION,
            current_status=current,
            allowed_statuses=sorted(allowed),
        )
