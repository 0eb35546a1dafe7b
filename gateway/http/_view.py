"""The GraphQL HTTP endpoint: strawberry's ASGI view with our context and fast JSON."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.schema import GatewayContext, Services
from gateway.upstream import Credentials, MissingCredentials


class GraphQLView(GraphQL[GatewayContext, None]):
    """One per app; builds a fresh ``GatewayContext`` (and so fresh loaders) per request."""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        try:
            credentials: Credentials | None = Credentials.from_headers(request.headers)
        except MissingCredentials:
            # Resolvers raise UNAUTHENTICATED when they need VSee; nothing is called upstream.
            credentials = None
        services: Services = request.app.state.services
        return GatewayContext(
            services=services,
            credentials=credentials,
            request=request,
            response=response,
            idempotency_key=request.headers.get("idempotency-key"),
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
