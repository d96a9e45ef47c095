"""How the OpenAPI document is written: named enums, and the info and servers that client generators read."""

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter

from ..fields import Choice

DESCRIPTION = """What is confirmed, and what is only reported: a ledger of claims.

Reads are public unless the service is configured otherwise; writes need a bearer token
(scopes read < write < admin). Lists are `{"items": [...], "next_cursor": ...}`: pass
`next_cursor` back as `cursor`. `PATCH` needs `If-Match` with the current `ETag`. Any `POST`
may carry an `Idempotency-Key`. Every error is an RFC 9457 `application/problem+json` body."""


def spec_options(public_url):
    """The document's `info` and `servers`; the server is the service's public base URL."""
    return {
        "info": {
            "description": DESCRIPTION,
            "contact": {"name": "The reportedly maintainers"},
            "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
        },
        "servers": [{"url": public_url.rstrip("/"), "description": "This service (REPORTEDLY_PUBLIC_URL)"}],
    }


class NamedEnumConverter(OpenAPIConverter):
    """apispec's converter, writing a `Choice` field as a reference to its set's one component.

    An inline enum would get a name derived from its schema and field (Claim.status becomes
    `ClaimStatus`), a new type per place, and a clash when that name is taken already.
    """

    def field2property(self, field):
        prop = super().field2property(field)
        if not isinstance(field, Choice):
            return prop
        ref = self._enumeration_ref(field.enumeration)
        # readOnly, default or nullable stay beside the reference: OpenAPI 3.0 ignores siblings of a bare $ref.
        rest = {key: value for key, value in prop.items() if key not in ("type", "enum")}
        return {"allOf": [ref], **rest} if rest else ref

    def _enumeration_ref(self, enumeration):
        registered = self.spec.components.schemas.get(enumeration.name)
        if registered is None:
            self.spec.components.schema(enumeration.name, enumeration.component())
        elif registered != enumeration.component():
            raise ValueError(f"two different sets of values are named {enumeration.name!r}")
        return self.spec.components.get_ref("schema", enumeration.name)


class ContractPlugin(MarshmallowPlugin):
    """The marshmallow plugin with named enums."""

    Converter = NamedEnumConverter
