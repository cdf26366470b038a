from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.db import models
from django.db.models.functions import Lower


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """A bulk update (an admin action, a shell) reaches the caches like `save()` does: each
        updated user is read again from the database by every process within the bound of a
        single save (README, "Security"), not after USER_CACHE_TTL."""
        from .signals import forget_users_on_commit

        user_ids = list(self.values_list("pk", flat=True))
        rows = super().update(**kwargs)
        forget_users_on_commit(user_ids)
        return rows


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A shop user. Staff users (`is_staff`) administer the catalog and every order."""

    username_validator = ASCIIUsernameValidator()
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        validators=[username_validator],
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address", max_length=254)
    # The access tokens ended by a logout before they expire: {jti: expiry as a Unix time}. Kept on
    # the row so that the one read that authenticates a request (cached, invalidated on save, like
    # `is_active`) also says whether its token was logged out; pruned of expired ids at each logout,
    # so it holds at most the logouts of one access token lifetime.
    logged_out_tokens = models.JSONField(default=dict, blank=True, editable=False)
    # When the account confirmed its e-mail address (shop/accounts/email_verification.py).
    email_verified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    objects = UserManager()

    def __str__(self) -> str:
        return self.username

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class EmailPurpose(models.TextChoices):
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"


class EmailRequest(models.Model):
    """An e-mail about an account was asked for at this address (a reset link, a verification
    link). Recorded (and its e-mail owed) whether or not an account uses the address: the request
    does the same work either way, and the worker looks the account up
    (shop/accounts/password_reset.py, email_verification.py)."""

    email = models.EmailField(max_length=254)
    purpose = models.CharField(
        max_length=32, choices=EmailPurpose.choices, default=EmailPurpose.PASSWORD_RESET
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="accounts_reset_created")]  # the purge

    def __str__(self) -> str:
        return f"{self.purpose} for {self.email}"
