"""The stable machine codes of the errors every endpoint can answer. Domain packages keep their
own enums (`orders/error_codes.py`); all of them are `StrEnum`s so they serialize as strings."""

from enum import StrEnum


class ApiErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    PARSE_ERROR = "parse_error"
    BAD_REQUEST = "bad_request"
    TOO_MANY_PARAMETERS = "too_many_parameters"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    URI_TOO_LONG = "uri_too_long"
    HEADER_FIELDS_TOO_LARGE = "header_fields_too_large"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    TOKEN_NOT_VALID = "token_not_valid"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    PRECONDITION_FAILED = "precondition_failed"
    PRECONDITION_REQUIRED = "precondition_required"
    SERVICE_UNAVAILABLE = "service_unavailable"
    SERVER_ERROR = "server_error"
    NOT_IMPLEMENTED = "not_implemented"
    BAD_GATEWAY = "bad_gateway"  # answered by the proxy (docker/nginx/), never by the app
    GATEWAY_TIMEOUT = "gateway_timeout"  # likewise
