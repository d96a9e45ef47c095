"""The HTTP API: one blueprint per resource, registered on a problem+json-speaking Api."""

from ..identifiers import MAX_ID, SLUG_PATTERN
from . import attributions, claims, docs, documents, health, imports, interchange, jobs, sources, summary
from .base import Api, IdConverter, SlugConverter
from .openapi import ContractPlugin

BLUEPRINTS = (health, sources, documents, claims, attributions, summary, jobs, interchange, imports)


def register_api(app):
    """Create the Api, its converters and security scheme, and every resource blueprint."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["slug"] = SlugConverter
    api = Api(app, spec_kwargs={"marshmallow_plugin": ContractPlugin()})
    api.register_converter(IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.register_converter(SlugConverter, lambda _: {"type": "string", "pattern": SLUG_PATTERN})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.blp)
    return api
