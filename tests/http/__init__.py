"""Tests of the HTTP surface: GraphQL-over-HTTP, GraphiQL, and what a browser sees."""
