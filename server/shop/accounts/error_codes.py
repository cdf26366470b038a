from enum import StrEnum


class AccountErrorCode(StrEnum):
    EMAIL_NOT_VERIFIED = "email_not_verified"
