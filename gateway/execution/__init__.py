"""Compiled execution of validated GraphQL queries, with graphql-core as reference and fallback."""

from ._compiled import CompiledExecutor, compiled_executor

__all__ = ["CompiledExecutor", "compiled_executor"]
