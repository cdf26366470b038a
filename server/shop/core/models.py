from django.db import models


class UndeliveredInvalidation(models.Model):
    """A cache version key a process could not bump because it could not reach Memcached. The
    worker bumps it again (shop/core/tasks.py) every CACHE_REDELIVERY_INTERVAL seconds, so every
    process stops serving what the write changed within seconds, not at the entries' TTL."""

    key = models.CharField(max_length=250)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        db_table = "api_undeliveredinvalidation"  # where it was made, in the api app

    def __str__(self) -> str:
        return self.key
