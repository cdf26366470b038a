"""The hand-written contract, loaded once per process, and a route table derived from it."""

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from django.conf import settings
from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas import oas31_schema_casters_factory
from openapi_core.deserializing.styles import style_deserializers
from openapi_core.deserializing.styles.factories import StyleDeserializersFactory
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.factories import DialectSchemaValidatorsFactory

from .problems import PROBLEM_CONTENT_TYPE

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class SpecRoute:
    """One path of the spec: its template, a regex that matches concrete paths, and per method the
    media types its request body may have (empty when the operation takes no body)."""

    template: str
    regex: re.Pattern[str]
    body_media_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    header_params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # per method, each query parameter with the kind of value it takes (`QUERY_KINDS`)
    query_params: dict[str, dict[str, str]] = field(default_factory=dict)
    operation_ids: dict[str, str] = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.body_media_types)


@functools.cache
def spec_bytes() -> bytes:
    return settings.OPENAPI_SPEC_PATH.read_bytes()


@functools.cache
def spec_document() -> dict[str, Any]:
    return yaml.safe_load(spec_bytes())


@functools.cache
def openapi() -> OpenAPI:
    """The spec as openapi-core sees it. `application/problem+json` is JSON, not bytes."""
    return _openapi(spec_document())


def _openapi(document: dict[str, Any]) -> OpenAPI:
    built_once = {  # openapi-core's own factories for OpenAPI 3.1, remembering what they build
        "schema_validators_factory": _BuiltOnceSchemaValidators(),
        "style_deserializers_factory": _BuiltOnceStyleDeserializers(),
    }
    config = Config(
        extra_media_type_deserializers={PROBLEM_CONTENT_TYPE: json.loads},
        **(built_once if str(document.get("openapi", "")).startswith("3.1.") else {}),
    )
    return OpenAPI.from_dict(document, config=config)


class _BuiltOnceSchemaValidators(DialectSchemaValidatorsFactory):
    """openapi-core's OpenAPI 3.1 schema validators, each built once per schema of the spec.

    openapi-core builds a JSON Schema validator (deep-copying its format checker) for every
    parameter and body of every request it validates, though the same schema always gets an
    equivalent, stateless one. Built once, a request's validation costs about a third less (2.7
    -> 1.7 ms for the product list's query, 0.98 -> 0.67 ms for an order's body; the same errors).
    The key is the schema's place in the spec (the spec is never freed), so the memo is bounded by
    the spec's size. Validators with extra format checks are built each time, as before."""

    def __init__(self) -> None:
        base = oas31_schema_validators_factory
        super().__init__(
            base.schema_validator_cls, base.default_jsonschema_dialect_id, format_checker=base.format_checker
        )
        self._built: dict[tuple, Any] = {}

    def create(
        self,
        spec,
        schema,
        format_validators=None,
        extra_format_validators=None,
        forbid_unspecified_additional_properties=False,
        enforce_properties_required=False,
    ):
        flags = (forbid_unspecified_additional_properties, enforce_properties_required)
        if format_validators is not None or extra_format_validators is not None:
            return super().create(spec, schema, format_validators, extra_format_validators, *flags)
        key = (id(schema.accessor), schema.parts, *flags)
        if (validator := self._built.get(key)) is None:
            validator = self._built[key] = super().create(spec, schema, None, None, *flags)
        return validator


class _BuiltOnceStyleDeserializers(StyleDeserializersFactory):
    """openapi-core's parameter deserializers (with their casters), each built once per parameter."""

    def __init__(self) -> None:
        super().__init__(oas31_schema_casters_factory, style_deserializers=style_deserializers)
        self._built: dict[tuple, Any] = {}

    def create(self, spec, schema, style: str, explode: bool, name: str):
        key = (id(schema.accessor), schema.parts, style, explode, name)
        if (deserializer := self._built.get(key)) is None:
            deserializer = self._built[key] = super().create(spec, schema, style, explode, name)
        return deserializer


@functools.cache
def closed_spec_document() -> dict[str, Any]:
    """The contract with every promise of growth taken back, for checking our own responses.

    The published responses are open so that clients survive a minor version: objects take
    unknown fields and `x-extensible-enum` schemas take unknown values. Our server must still send
    exactly what the contract names, so response validation (tests, CI, DEBUG) uses this copy:
    each object that lists its `properties` and says nothing of others is closed, and each
    extensible enum is its closed enum alone."""
    document = copy.deepcopy(spec_document())
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if schema.get("x-extensible-enum"):
            schemas[name] = schema["anyOf"][0]
    _close_objects(document)
    return document


def _close_objects(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _close_objects(item)
    elif isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)


@functools.cache
def closed_openapi() -> OpenAPI:
    """`openapi()` over `closed_spec_document()`: what our own responses are checked against."""
    return _openapi(closed_spec_document())


CODE_IN_PROSE = re.compile(r"`(?:\d{3} )?([a-z_]+)`")


@functools.cache
def problem_codes() -> frozenset[str]:
    return frozenset(spec_document()["components"]["schemas"]["ProblemCode"]["enum"])


@functools.cache
def operation_codes() -> frozenset[str]:
    """The codes some operation lists in `x-problem-codes`: its own rules, answered by no other."""
    return frozenset(
        code
        for item in spec_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for code in operation.get("x-problem-codes", ())
    )


@functools.cache
def documented_codes(path_pattern: str, method: str, status: int) -> frozenset[str]:
    """The problem codes the contract documents for this operation answering `status`: the codes
    its response for that status (or its `default`) names in its description, less the codes of
    other operations' rules that this operation does not list in `x-problem-codes`."""
    operation = spec_document()["paths"][path_pattern][method]
    response = resolve_ref(operation["responses"].get(str(status)) or operation["responses"]["default"])
    named = set(CODE_IN_PROSE.findall(response.get("description", ""))) & problem_codes()
    return frozenset(named - (operation_codes() - set(operation.get("x-problem-codes", ()))))


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


def resolve_ref(node: dict[str, Any]) -> dict[str, Any]:
    """Follows a local `$ref` ("#/components/parameters/Id")."""
    while "$ref" in node:
        target: Any = spec_document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# How a query parameter's value is written in its normal form (`normal_query_value`).
# A parameter of kind `list` may be repeated (an array in the form style); every other one may not.
QUERY_KINDS = ("integer", "money", "text", "list")


def _query_kind(schema: dict[str, Any]) -> str:
    if schema.get("$ref", "").endswith("/MoneyInput"):
        return "money"
    return {"integer": "integer", "array": "list"}.get(resolve_ref(schema).get("type"), "text")


def normal_query_value(kind: str, value: str) -> str:
    """One spelling per value the contract accepted: `01` is `1`, `5` and `5.0` are `5.00`."""
    if kind == "integer":
        return str(int(value))
    if kind == "money":
        return f"{Decimal(value):.2f}"
    return value


def _parameters(path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve_ref(p) for p in [*path_item.get("parameters", []), *operation.get("parameters", [])]]


@functools.cache
def spec_routes() -> tuple[SpecRoute, ...]:
    routes = []
    for template, path_item in spec_document()["paths"].items():
        media_types = {
            method: tuple(operation.get("requestBody", {}).get("content", {}))
            for method, operation in path_item.items()
            if method in HTTP_METHODS
        }
        operations = {method: op for method, op in path_item.items() if method in HTTP_METHODS}
        headers = {
            method: tuple(p["name"] for p in _parameters(path_item, op) if p["in"] == "header")
            for method, op in operations.items()
        }
        query = {
            method: {
                p["name"]: _query_kind(p["schema"]) for p in _parameters(path_item, op) if p["in"] == "query"
            }
            for method, op in operations.items()
        }
        operation_ids = {
            method: operation["operationId"]
            for method, operation in path_item.items()
            if method in HTTP_METHODS and "operationId" in operation
        }
        routes.append(
            SpecRoute(template, _template_regex(template), media_types, headers, query, operation_ids)
        )
    return tuple(routes)


def match_route(path: str) -> tuple[SpecRoute, dict[str, str]] | None:
    """Returns the spec route a concrete path belongs to, with its path parameters."""
    for route in spec_routes():
        match = route.regex.match(path)
        if match:
            return route, match.groupdict()
    return None
