"""The OpenAPI 3.1 document of the REST API (``document``), with the parts of
notifications and of the account merged in."""

from comprimemelo.web.api.openapi.document import openapi_document

__all__ = ["openapi_document"]
