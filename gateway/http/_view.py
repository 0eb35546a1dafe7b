"""The GraphQL endpoint: GraphQL-over-HTTP on strawberry's ASGI view, with our context."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from gateway.ratelimit import RateLimiter
from gateway.schema import GatewayContext, Services
from gateway.schema.errors import coded
from gateway.schema.limits import input_problem
from gateway.upstream import Credentials, MissingCredentials

from ._apq import PersistedQueries, PersistedQueryError
from ._caching import CREDENTIAL_BYTES_PROBLEM, CREDENTIAL_HEADERS
from ._graphiql import GraphiQL
from ._media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    SSE,
    negotiate,
    prefers_html,
    streaming_transport,
)
from ._multipart import MultipartFraming
from ._sse import EVENT_STREAM, SSEFraming
from ._streaming import (
    SHUTTING_DOWN,
    TOO_MANY_SUBSCRIPTIONS,
    Framing,
    Stream,
    StreamRegistry,
)
from ._ws import GatewayTransportWS, TextWebSocketAdapter, connection_credentials

_PRINTABLE = re.compile(r"[\x20-\x7e]*")
# What get_context reads of a request's headers (as uvicorn gives them: lower-case bytes).
_CONTEXT_HEADERS = frozenset(
    {b"x-apitoken", b"authorization", b"x-accountcode", b"x-apikey", b"idempotency-key"}
)
_GET_OPERATIONS = frozenset({OperationType.QUERY})
# Subscriptions are served only to requests that accept a stream (see ``_subscribe``).
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_SUBSCRIPTION_NEEDS_STREAM = (
    "Subscriptions are streamed: send Accept: text/event-stream (GraphQL over SSE) or "
    'Accept: multipart/mixed;subscriptionSpec="1.0", application/json (multipart, as Apollo '
    "Client does)."
)
_SSE = SSEFraming()
_MULTIPART = MultipartFraming()


class _Subscribe(Exception):
    """The operation is a subscription and the request accepts a stream: stream it."""


class RequestProblem(Exception):
    """A request this endpoint refuses before executing anything; becomes a 4xx answer."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


class GraphQLView(GraphQL[GatewayContext, None]):
    """One per app; builds a fresh ``GatewayContext`` (and so fresh loaders) per request.

    Strawberry's own request handling answers every malformed request with plain text and
    every GraphQL error with 200; clients of this gateway get what the GraphQL-over-HTTP spec
    asks instead, so HTTP requests are handled here and strawberry is used for execution.
    """

    # Subscriptions over graphql-transport-ws (see _ws.py); text frames, our limits.
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(
        self,
        schema: BaseSchema,
        *,
        graphiql: GraphiQL | None = None,
        max_batch_size: int = 1,
        ws_init_timeout: float = 10.0,
        ws_max_operations: int = 50,
        ws_idle_timeout: float = 300.0,
        ws_operation_deadline: float = 20.0,
        ws_max_connections: int = 10_000,
        allowed_origins: Sequence[str] = (),
        streams: StreamRegistry | None = None,
    ) -> None:
        # Strawberry's own IDE page loads its scripts from a CDN; ours is served locally.
        # Only graphql-transport-ws: the legacy subscriptions-transport-ws is unmaintained.
        # Browsers' cross-origin handshakes are refused unless their origin is in
        # VSEE_CORS_ORIGINS (the same origins CORS lets call over HTTP).
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=ws_init_timeout),
            max_subscriptions_per_connection=None,
            allowed_origins=allowed_origins,
        )
        self.graphql_transport_ws_handler_class = type(
            "ConfiguredTransportWS",
            (GatewayTransportWS,),
            {
                "max_operations": ws_max_operations,
                "idle_timeout": ws_idle_timeout,
                "operation_deadline": ws_operation_deadline,
                "max_connections": ws_max_connections,
                "connections": {"open": 0, "unaccepted": 0},
            },
        )
        self.graphiql = graphiql
        self.max_batch_size = max_batch_size
        self.streams = streams or StreamRegistry()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        # The few headers the context reads, found in one pass over the raw list (Starlette's
        # Headers.get scans and decodes the whole list on every lookup); the first of a
        # repeated header counts, as with Headers.get.
        headers: dict[str, str] = {}
        for name, value in request.scope["headers"]:
            if name in _CONTEXT_HEADERS:
                headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        try:
            credentials: Credentials | None = Credentials.from_headers(headers)
        except MissingCredentials:
            # Resolvers raise UNAUTHENTICATED when they need VSee; nothing is called upstream.
            credentials = None
        services: Services = request.app.state.services
        return GatewayContext(
            services=services,
            credentials=credentials,
            request=request,
            # Resolvers set status and headers on an HTTP sub-response; a socket has neither.
            response=response if isinstance(response, Response) else None,
            idempotency_key=headers.get("idempotency-key"),
            admit=_admit(request, credentials),
        )

    async def on_ws_connect(self, context: GatewayContext) -> dict[str, object] | None:
        """connection_init: the connection's credentials (its payload's, else the upgrade
        request's), required before anything can be subscribed; refused: closed 4403."""
        try:
            credentials = connection_credentials(
                context.connection_params or {}, context.credentials
            )
        except MissingCredentials as exc:
            raise ConnectionRejectionError({"message": exc.message}) from None
        context.credentials = credentials
        context.admit = _admit(context.request, credentials)
        return None

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request to the endpoint; never raises for a client's mistake."""
        media_type = JSON
        try:
            if request.method not in ("GET", "POST"):
                raise RequestProblem(
                    405,
                    "GraphQL is served over GET (queries) and POST.",
                    "METHOD_NOT_ALLOWED",
                    {"Allow": "GET, POST"},
                )
            _check_credential_headers(request)
            accept = request.headers.get("accept")
            if (
                self.graphiql is not None
                and request.method == "GET"
                and not request.query_params.get("query")
                and prefers_html(accept)
            ):
                return self.graphiql.page(request)
            transport = streaming_transport(accept)
            negotiated = negotiate(accept)
            if negotiated is None and transport is None:
                raise RequestProblem(
                    406,
                    f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.",
                    "NOT_ACCEPTABLE",
                )
            # A streaming client that names no JSON type still gets refusals in JSON.
            media_type = negotiated or JSON
            params = await self._params(request)
            if isinstance(params, list):
                if transport == SSE:
                    raise RequestProblem(400, "GraphQL over SSE runs one operation per request.")
                return await self._execute_batch(request, params, media_type)
            if transport is None:
                params["query"] = await self._persisted_query(request, params)
                return await self._execute(request, params, media_type)
            return await self._stream(request, params, transport, media_type)
        except RequestProblem as problem:
            return self._problem(problem, media_type)

    async def _stream(
        self, request: Request, params: dict[str, Any], transport: str, media_type: str
    ) -> Response:
        """A request that accepts a stream: subscriptions are streamed, other operations not.

        Over SSE every answer is an event stream, refusals included (graphql-sse's protocol:
        clients treat a 4xx as a network failure to retry); only HTTP-level mistakes (the
        method, the body) and SHUTTING_DOWN (which should be retried elsewhere) are not.
        Multipart clients get refusals, queries and mutations as plain GraphQL responses.
        """
        try:
            params["query"] = await self._persisted_query(request, params)
            try:
                body, status, sub_response = await self._run(
                    request, params, media_type, streams=True
                )
            except _Subscribe:
                return await self._subscribe(request, params, transport, media_type)
        except RequestProblem as problem:
            if transport != SSE or problem.status in (405, 503):
                raise
            return self._sse_answer(_problem_body(problem), problem.headers)
        if transport == SSE:
            return self._sse_answer(body, sub_response.headers)
        return self._response(body, status, sub_response, media_type)

    def _sse_answer(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        """One result as a whole graphql-sse stream: a ``next`` event, then ``complete``."""
        kept = {name: value for name, value in headers.items() if name.lower() == "retry-after"}
        return Response(_SSE.single(body), media_type=EVENT_STREAM, headers=kept)

    async def _subscribe(
        self, request: Request, params: dict[str, Any], transport: str, media_type: str
    ) -> Response:
        """Stream a subscription: credentials, the per-caller limit, then the stream itself.

        Nothing is subscribed (so nothing polled upstream) before the caller's credentials are
        there and within its limit; parse, validation, the query limits and the rate limit run
        in ``schema.subscribe`` and end the stream with their coded errors.
        """
        framing: Framing = _SSE if transport == SSE else _MULTIPART
        streams = self.streams
        if streams.draining:
            streams.dropped_for(framing.name, "shutdown")
            raise RequestProblem(
                503,
                "This server is shutting down; subscribe again.",
                SHUTTING_DOWN,
                {"Retry-After": "1", "Connection": "close"},
            )
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        credentials: Credentials | None = getattr(context, "credentials", None)
        if credentials is None:
            raise self._request_error(MissingCredentials().message, "UNAUTHENTICATED", media_type)
        caller = credentials.scope
        if not streams.reserve(caller):
            streams.dropped_for(framing.name, "limit")
            raise RequestProblem(
                429,
                f"These credentials hold {streams.policy.max_per_caller} subscriptions already; "
                "end one first.",
                TOO_MANY_SUBSCRIPTIONS,
            )
        try:
            source = await self.schema.subscribe(
                params["query"],
                variable_values=params["variables"],
                context_value=context,
                root_value=None,
                operation_name=params["operation_name"],
                operation_extensions=params["extensions"],
            )
        except BaseException:
            streams.release(caller)
            raise
        render = self._renderer(request, params)
        return _StreamResponse(
            Stream(
                source,
                render=render,
                framing=framing,
                registry=streams,
                caller=caller,
                headers={"Vary": "Accept"},
            )
        )

    def _renderer(
        self, request: Request, params: dict[str, Any]
    ) -> Callable[[Any], Awaitable[Mapping[str, Any]]]:
        """Each subscription result as the caller sees it: coded errors, nothing internal.

        The document's APQ hash is registered with its first result that is not a request
        error (it parsed, validated, passed the limits and ran), as for queries.
        """
        digest: str | None = params.get("register")

        async def render(result: ExecutionResult) -> Mapping[str, Any]:
            nonlocal digest
            if result.errors:
                result.errors = [coded(error) for error in result.errors]
            if digest and not _is_request_error(result):
                persisted: PersistedQueries | None = getattr(request.app.state, "persisted", None)
                if persisted is not None:
                    await persisted.register(digest, params["query"])
                digest = None
            body = await self.process_result(request, result)
            if _is_request_error(result):
                body.pop("data", None)
            return body

        return render

    async def _persisted_query(self, request: Request, params: dict[str, Any]) -> str:
        """The query text, looked up by hash for persisted queries (APQ, trusted documents).

        A hash to register is kept in ``params`` and registered only after the document has
        parsed, validated and passed the limits (see ``_run``).
        """
        query: str | None = params["query"]
        # Built in the app's lifespan, beside the other shared services.
        persisted: PersistedQueries | None = getattr(request.app.state, "persisted", None)
        if persisted is not None:
            try:
                resolved = await persisted.resolve(query, params["extensions"])
            except PersistedQueryError as exc:
                raise RequestProblem(exc.status, exc.message, exc.code) from None
            query = resolved.query
            params["register"] = resolved.register
        if query is None:
            raise RequestProblem(400, "The request has no `query`.")
        return query

    async def _execute_batch(
        self, request: Request, batch: list[dict[str, Any]], media_type: str
    ) -> Response:
        """Several operations in one POST, each run as its own request, answered in order."""
        bodies: list[GraphQLHTTPResponse | dict[str, Any]] = []
        # The batch answers 200 whatever its operations did, so a refused one (RATE_LIMITED)
        # still tells the client when to retry: the longest wait any operation was given.
        retry_after = 0
        for params in batch:
            try:
                params["query"] = await self._persisted_query(request, params)
                body, _, sub_response = await self._run(request, params, media_type)
                bodies.append(body)
                wait = sub_response.headers.get("retry-after", "")
                if wait.isdigit():
                    retry_after = max(retry_after, int(wait))
            except RequestProblem as problem:
                bodies.append(_problem_body(problem))
        headers = {"Vary": "Accept"}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return Response(
            self.encode_json(bodies),
            status_code=200,
            media_type=f"{media_type}; charset=utf-8",
            headers=headers,
        )

    async def _params(self, request: Request) -> dict[str, Any] | list[dict[str, Any]]:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            for name in ("variables", "extensions"):
                if name in raw:
                    raw[name] = self._json_param(name, raw[name]) if raw[name] else None
            return self._checked(raw)
        content_type, _, parameters = request.headers.get("content-type", "").partition(";")
        if content_type.strip().lower() != JSON:
            raise RequestProblem(
                415,
                f"POST a JSON object with Content-Type: {JSON}.",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        charset = _charset(parameters)
        if charset not in (None, "utf-8", "utf8"):
            raise RequestProblem(
                415, f"Send the JSON body as utf-8, not {charset}.", "UNSUPPORTED_MEDIA_TYPE"
            )
        body = await self._body(request)
        if not body.strip():
            raise RequestProblem(400, "The request body is empty; POST a JSON object.")
        try:
            data = self.decode_json(body)
        except orjson.JSONDecodeError:
            raise RequestProblem(400, "The request body is not valid JSON.") from None
        if isinstance(data, list):
            if not data or len(data) > self.max_batch_size:
                raise RequestProblem(
                    400,
                    f"A batch holds 1 to {self.max_batch_size} operations.",
                    "BATCH_TOO_LARGE" if data else "BAD_REQUEST",
                )
            if not all(isinstance(item, dict) for item in data):
                raise RequestProblem(400, "Each operation in a batch must be a JSON object.")
            return [self._checked(item) for item in data]
        if not isinstance(data, dict):
            raise RequestProblem(400, "The request body must be a JSON object.")
        return self._checked(data)

    async def _body(self, request: Request) -> bytes:
        # The size limit is enforced once, for every route, by RequestContextMiddleware.
        return await request.body()

    def _json_param(self, name: str, value: str) -> object:
        try:
            return self.decode_json(value)
        except orjson.JSONDecodeError:
            raise RequestProblem(400, f"The `{name}` parameter is not valid JSON.") from None

    @staticmethod
    def _checked(data: Mapping[str, Any]) -> dict[str, Any]:
        query = data.get("query")
        extensions = data.get("extensions")
        hashed = isinstance(extensions, dict) and "persistedQuery" in extensions
        if (query is None or query == "") and not hashed:
            raise RequestProblem(400, "The request has no `query`.")
        if query is not None and not isinstance(query, str):
            raise RequestProblem(400, "`query` must be a string.")
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestProblem(400, "`operationName` must be a string or null.")
        for name in ("variables", "extensions"):
            value = data.get(name)
            if value is not None and not isinstance(value, dict):
                raise RequestProblem(400, f"`{name}` must be an object (map) or null.")
        return {
            "query": query or None,
            "operation_name": operation_name,
            "variables": data.get("variables"),
            "extensions": data.get("extensions"),
        }

    async def _execute(self, request: Request, params: dict[str, Any], media_type: str) -> Response:
        body, status, sub_response = await self._run(request, params, media_type)
        return self._response(body, status, sub_response, media_type)

    def _response(
        self,
        body: GraphQLHTTPResponse,
        status: int,
        sub_response: Response,
        media_type: str,
    ) -> Response:
        response = Response(
            self.encode_json(body),
            status_code=status,
            media_type=f"{media_type}; charset=utf-8",
            headers={"Vary": "Accept"},
        )
        # Resolvers may set headers, cookies or a status on info.context.response.
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def _run(
        self, request: Request, params: dict[str, Any], media_type: str, *, streams: bool = False
    ) -> tuple[GraphQLHTTPResponse, int, Response]:
        """Execute one operation: its response body, HTTP status and the resolvers' sub-response.

        Refusals before execution are raised as ``RequestProblem``; a subscription raises
        ``_Subscribe`` when the request accepts a stream (``streams``), else is refused.
        """
        problem = input_problem(params["variables"])
        if problem is not None:
            raise self._request_error(problem, "BAD_USER_INPUT", media_type)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        is_get = request.method == "GET"
        try:
            result = await self.schema.execute(
                params["query"],
                variable_values=params["variables"],
                context_value=context,
                root_value=None,
                operation_name=params["operation_name"],
                allowed_operation_types=_GET_OPERATIONS if is_get else _POST_OPERATIONS,
                operation_extensions=params["extensions"],
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                if streams:
                    raise _Subscribe from None
                raise RequestProblem(406, _SUBSCRIPTION_NEEDS_STREAM, "STREAM_REQUIRED") from None
            if is_get and exc.operation_type is OperationType.MUTATION:
                # Safe methods must not change anything (GraphQL-over-HTTP, "GET").
                raise RequestProblem(
                    405,
                    "Mutations must be sent with POST.",
                    "METHOD_NOT_ALLOWED",
                    {"Allow": "POST"},
                ) from None
            raise self._request_error(
                exc.as_http_error_reason(request.method), "OPERATION_NOT_SUPPORTED", media_type
            ) from None
        except CannotGetOperationTypeError as exc:
            raise self._request_error(
                exc.as_http_error_reason(), "OPERATION_RESOLUTION_FAILURE", media_type
            ) from None
        except MissingQueryError:
            raise RequestProblem(400, "The request has no `query`.") from None

        digest = params.get("register")
        if digest and not _is_request_error(result):
            # It parsed, validated, passed the limits and ran: worth remembering by its hash.
            persisted: PersistedQueries | None = getattr(request.app.state, "persisted", None)
            if persisted is not None:
                await persisted.register(digest, params["query"])
        body = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, body)
            # A field refused for want of an upstream slot (the bulkhead's queue was full): the
            # answer stays 200 with the rest of its data, and still says when to try again.
            if "retry-after" not in sub_response.headers and any(
                (error.extensions or {}).get("code") == "OVERLOADED" for error in result.errors
            ):
                sub_response.headers["Retry-After"] = "1"
        status = 200
        if _is_request_error(result):
            # The document never ran: the spec's "request error", which has no data entry.
            body.pop("data", None)
            if _is_internal(result.errors or []):
                status = 500
            elif media_type == GRAPHQL_RESPONSE_JSON:
                status = 400
        return body, status, sub_response

    @staticmethod
    def _request_error(message: str, code: str, media_type: str) -> RequestProblem:
        """A GraphQL request error found by strawberry before execution (no data entry)."""
        status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
        return RequestProblem(status, message, code)

    def _problem(self, problem: RequestProblem, media_type: str) -> Response:
        return Response(
            self.encode_json(_problem_body(problem)),
            status_code=problem.status,
            media_type=f"{media_type}; charset=utf-8",
            headers={"Vary": "Accept", **problem.headers},
        )


def _admit(
    request: Request | WebSocket, credentials: Credentials | None
) -> Callable[[int], Awaitable[float]] | None:
    """Takes a cost from the caller's rate-limit buckets (None: limits are off)."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return None
    client = request.client.host if request.client else None
    scope = credentials.scope if credentials else None
    account = credentials.account_code if credentials else None

    async def admit(cost: int) -> float:
        # The buckets are chosen at every call, not once: a socket (and its pollers) opened
        # before VSee accepted its credentials would otherwise draw for ever on the bucket
        # made-up tokens share, and a stranger could drain it.
        return await limiter.admit(limiter.buckets(scope, account, client), cost)

    return admit


def _check_credential_headers(request: Request) -> None:
    """Credentials are printable ASCII: anything else could never be sent on to VSee."""
    for name in CREDENTIAL_HEADERS:
        value = request.headers.get(name)
        if value is not None and not _PRINTABLE.fullmatch(value):
            # The value itself is never echoed: it may be a (mangled) secret.
            raise RequestProblem(400, CREDENTIAL_BYTES_PROBLEM.format(name), "UNAUTHENTICATED")


def _problem_body(problem: RequestProblem) -> dict[str, Any]:
    return {"errors": [{"message": problem.message, "extensions": {"code": problem.code}}]}


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _is_request_error(result: ExecutionResult) -> bool:
    """Parsing, validation or variable coercion failed, so nothing was executed.

    Strawberry marks parse and validation failures; graphql-core reports bad variables as a
    result without data whose errors, unlike every field error, have no path.
    """
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _is_internal(errors: list[GraphQLError]) -> bool:
    """A failure of ours before execution (e.g. an extension crashed), not the client's."""
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            return True
        if (error.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR":
            return True
    return False


class _StreamResponse(Response):
    """A ``Stream`` where the view returns a Starlette response."""

    def __init__(self, stream: Stream) -> None:
        # Nothing of Response's own is used: the stream sends its own start and body.
        self.stream = stream
        self.background = None
        self.status_code = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream(scope, receive, send)
