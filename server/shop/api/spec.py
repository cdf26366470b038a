"""The hand-written contract, loaded once per process: as openapi-core reads it (with its
validators built once), as the server's own responses are checked against it (closed), and the
problem codes it documents. The route table derived from it is spec_routes.py."""

import copy
import functools
import json
import re
from typing import Any

import yaml
from django.conf import settings
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas import oas31_schema_casters_factory
from openapi_core.deserializing.styles import style_deserializers
from openapi_core.deserializing.styles.factories import StyleDeserializersFactory
from openapi_core.templating.paths.datatypes import PathOperationServer
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.factories import DialectSchemaValidatorsFactory

from .problems import PROBLEM_CONTENT_TYPE

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


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


# How many places of the spec openapi-core's reader remembers, resolved. It walks the spec by path
# ("paths", "/api/orders/", "post", "requestBody", ...) and, by default, resolves every step of
# every walk again on each request, `$ref`s included: remembered, an order's POST is checked in
# about half the time (411 -> 198 us with the line in contract_requests.py that skips the
# request-type checks; the product list's query 1,263 -> 525 us). The places are the spec's own,
# a few dozen per operation (67 after an order and a product query); the bound only caps memory.
RESOLVED_PLACES = 8192


def _openapi(document: dict[str, Any]) -> OpenAPI:
    built_once = {  # openapi-core's own factories for OpenAPI 3.1, remembering what they build
        "schema_validators_factory": _BuiltOnceSchemaValidators(),
        "style_deserializers_factory": _BuiltOnceStyleDeserializers(),
        "path_finder_cls": _RememberingPathFinder,
    }
    config = Config(
        extra_media_type_deserializers={PROBLEM_CONTENT_TYPE: json.loads},
        **(built_once if str(document.get("openapi", "")).startswith("3.1.") else {}),
    )
    # OpenAPI.from_dict(document, config=config), with the reader remembering what it resolved.
    return OpenAPI(SchemaPath.from_dict(document, resolved_cache_maxsize=RESOLVED_PLACES), config=config)


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


class _RememberingPathFinder(APICallPathFinder):
    """openapi-core's path finder, remembering the operation it found for a method and a path.

    Our middleware has matched the spec path already and hands openapi-core that template
    (`SpecRequest.path_pattern`), so the finder is asked about the same few dozen templates again
    and again; each time it walks and parses every path of the spec (a twentieth of an order's
    POST). What it finds depends on the method and the path alone, so it is found once. Only a
    bounded number of answers is kept, so a caller passing concrete paths cannot fill memory;
    a path that is not found raises each time, as before."""

    REMEMBERED = 1024

    def __init__(self, spec, base_url=None):
        super().__init__(spec, base_url=base_url)
        self._found: dict[tuple[str, str], PathOperationServer] = {}

    def find(self, method: str, name: str) -> PathOperationServer:
        key = (method, name)
        if (found := self._found.get(key)) is None:
            found = super().find(method, name)
            if len(self._found) < self.REMEMBERED:
                self._found[key] = found
        return found


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


def resolve_ref(node: dict[str, Any]) -> dict[str, Any]:
    """Follows a local `$ref` ("#/components/parameters/Id")."""
    while "$ref" in node:
        target: Any = spec_document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
