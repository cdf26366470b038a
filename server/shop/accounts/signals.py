"""Cache invalidation for accounts: a saved or deleted user is read again from the database."""

from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import invalidate_user
from .recent_tokens import recent_tokens


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_user_saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_user_deleted")
def _forget_cached_user(instance, **kwargs) -> None:
    transaction.on_commit(partial(_forget, instance.pk))


def _forget(user_id) -> None:
    """In this process at once (its recently verified tokens), in every process through the cache."""
    recent_tokens.forget_user(user_id)
    invalidate_user(user_id)
