"""A fake-but-faithful VSee Clinic api_v3 upstream, so the gateway runs without a VSee account.

    uvicorn.run(create_app(SandboxConfig(seed=7)), host="127.0.0.1", port=8001)

The API lives under `/vc/next/api_v3` (every route also answers with a `.json` suffix) and
speaks VSee's JSON shapes, quirks included. State is in memory, seeded deterministically
from `SandboxConfig.seed` around `SandboxConfig.now`.

Credentials (header `X-AccountCode` plus `X-ApiToken`):

| account     | role     | X-ApiToken            |
|-------------|----------|-----------------------|
| `vclinic`   | member   | `demo-member-token`   |
| `vclinic`   | provider | `demo-provider-token` |
| `vclinic`   | admin    | `demo-admin-token`    |
| `sunclinic` | member   | `sun-member-token`    |
| `sunclinic` | provider | `sun-provider-token`  |
| `sunclinic` | admin    | `sun-admin-token`     |

The demo member has past, current (in progress with the demo provider) and upcoming visits
and an e-consult awaiting a provider. Every other user's token is in `GET /_sandbox/users`.
`POST /users/sso` takes `X-ApiKey: demo-api-key` and `X-ApiSecret: demo-api-secret`.

Knobs under `/_sandbox/` (no auth): `GET|DELETE requests` (the request log, counted per
route template such as `"GET /visits/{id}"`), `GET|PUT faults` (latency, jitter, error rate,
per-route failures), `POST reset`, `GET users`, `GET health`, and `POST visits/{id}/start`
(a provider starts the call, which VSee does in its own apps: the visit goes in progress).

Answers have exactly the keys and JSON types of VSee's documented examples. Everything the
docs do not show (paging, filters, statuses 40/50, error statuses other than 400, ...) is
inferred and listed, with its reading, in `vsee_sandbox._inferred`.
"""

from ._app import create_app
from ._config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
