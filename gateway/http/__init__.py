"""The HTTP surface around the schema: the GraphQL endpoint and what serves it."""

from ._view import GraphQLView

__all__ = ["GraphQLView"]
