"""Cache invalidation for accounts: a saved or deleted user is read again from the database."""

from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import invalidate_users
from .recent_tokens import recent_tokens


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_user_saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_user_deleted")
def _forget_cached_user(instance, **kwargs) -> None:
    forget_users_on_commit([instance.pk])


def forget_users_on_commit(user_ids) -> None:
    """Once the change commits, these users are read again from the database: in this process at
    once (its recently verified tokens), in every process through the cache (one round trip)."""
    if user_ids:
        transaction.on_commit(partial(_forget, tuple(user_ids)))


def _forget(user_ids) -> None:
    recent_tokens.forget_users(user_ids)
    invalidate_users(user_ids)
