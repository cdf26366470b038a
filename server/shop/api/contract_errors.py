"""openapi-core's request errors, as the field errors of a `validation_error` problem. Each path
is built from the jsonschema error's own path (never parsed out of its message)."""

from collections.abc import Iterable

from openapi_core.validation.request import exceptions as request_errors

from shop.core.errors import FieldCode, FieldError, field_path


def _schema_field_errors(exc: BaseException, prefix: str) -> list[FieldError]:
    """Field errors from the jsonschema errors behind an openapi-core error."""
    cause = exc.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if not schema_errors:
        return [FieldError.at(prefix, FieldCode.INVALID, str(cause or exc))]
    errors: list[FieldError] = []
    for error in schema_errors:
        path = field_path(error.absolute_path, prefix)
        if error.validator == "required":
            # jsonschema reports each missing property as an error of its own, naming it only in
            # its message: take the names from the schema and the instance instead.
            present = error.instance if isinstance(error.instance, dict) else {}
            errors += [
                FieldError.at(field_path([name], path), FieldCode.REQUIRED, "This field is required.")
                for name in error.validator_value
                if name not in present
            ]
        else:
            errors.append(FieldError.at(path, FieldCode.INVALID, error.message))
    return list(dict.fromkeys(errors))  # one entry per field, in order


def request_field_errors(errors: Iterable[Exception]) -> list[FieldError]:
    """One FieldError per offending parameter or body field."""
    field_errors: list[FieldError] = []
    for error in errors:
        if isinstance(error, request_errors.MissingRequiredParameter):
            field_errors.append(FieldError.at(error.name, FieldCode.REQUIRED, "This parameter is required."))
        elif isinstance(error, request_errors.ParameterValidationError):
            field_errors += _schema_field_errors(error, error.name)
        elif isinstance(error, request_errors.MissingRequestBodyError):
            field_errors.append(FieldError.at("body", FieldCode.REQUIRED, "A request body is required."))
        else:
            field_errors += _schema_field_errors(error, "")
    return field_errors


def is_missing_credentials(errors: Iterable[Exception]) -> bool:
    return any(isinstance(error, request_errors.SecurityValidationError) for error in errors)
