"""VSee GraphQL gateway: one GraphQL endpoint in front of VSee Clinic's REST API (api_v3)."""

__version__ = "0.1.0"
