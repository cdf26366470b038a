"""Who may see an order: the one rule behind every read and write of a single order."""

from shop.accounts.models import User


def can_view_order(user: User, owner_id: int) -> bool:
    """Staff see every order, customers their own. Everyone else is told the order does not
    exist, so nobody can learn whether someone else's order does."""
    return user.is_staff or owner_id == user.pk
