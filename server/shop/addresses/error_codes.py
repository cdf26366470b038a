from enum import StrEnum


class AddressErrorCode(StrEnum):
    ADDRESS_LIMIT_REACHED = "address_limit_reached"
