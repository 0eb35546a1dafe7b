"""The URL scalar: absolute http(s) only; attachments' relative paths resolved on a public base."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.schema import conversion_observers, export_sdl
from gateway.schema._convert import as_url, is_absolute_url, public_files_base, resolve_file
from gateway.schema.people import Member, Provider
from gateway.schema.scalars import _parse_url, _serialize_url
from gateway.settings import Settings
from tests.servers import gid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sandbox" / "tests" / "fixtures" / "seed_examples"
VSEE = "https://api.vseepreview.com/vc/next/api_v3"
# The provider photo of GET /visits's example row: VSee's own absolute file URL.
PHOTO = (
    f"{VSEE}/files/index/app_user/photo/1096/?auth_code=8350f279578774a6e31787fc5a5a05d2948770e0"
)


def counted(run: Callable[[], object]) -> tuple[object, list[str]]:
    seen: list[str] = []
    conversion_observers.append(seen.append)
    try:
        return run(), seen
    finally:
        conversion_observers.remove(seen.append)


def test_the_scalar_is_specified_by_rfc_3986() -> None:
    assert 'scalar URL @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3986")' in export_sdl()


@pytest.mark.parametrize(
    "value",
    [PHOTO, "http://example.com", "https://h.example:8443/a%20b?q=1#f", "HTTPS://H.EXAMPLE/"],
)
def test_absolute_http_urls_pass(value: str) -> None:
    assert is_absolute_url(value)
    assert _serialize_url(value) == value
    assert _parse_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "files/2016/08/17/57b4c65d.png",  # relative: what VSee's attachments carry
        "/files/a.png",
        "//host/a.png",
        "javascript:alert(1)",
        "ftp://host/a",
        "https://",
        "https://host/a b",
        "https://host/é",
        "https://host/%zz",
        "https://host:99999/",
        "https://host/" + "a" * 3000,
        "",
        17,
        None,
    ],
)
def test_anything_else_is_refused_and_counted(value: object) -> None:
    assert not is_absolute_url(value)
    with pytest.raises(ValueError, match="absolute"):
        _parse_url(value)

    def serialize() -> object:
        with pytest.raises(ValueError, match="absolute"):
            _serialize_url(value)
        return None

    assert counted(serialize)[1] == ["URL"]


def test_photos_are_urls_or_null_counted() -> None:
    assert Provider.from_raw({"id": "1096", "photo": PHOTO}).photo == PHOTO
    assert counted(lambda: Member.from_raw({"id": "575", "photo": ""}).photo) == (None, [])
    assert counted(lambda: Member.from_raw({"id": "575", "photo": None}).photo) == (None, [])
    relative, seen = counted(lambda: Provider.from_raw({"id": "7", "photo": "img/7.png"}).photo)
    assert (relative, seen) == (None, ["photo URL"])
    assert counted(lambda: as_url("https://ok.example/x"))[1] == []


@pytest.mark.parametrize(
    ("api_base", "public"),
    [
        (VSEE, True),
        ("https://api.vsee.me/api_v3", True),
        ("http://127.0.0.1:8900/vc/next/api_v3", False),  # serve --sandbox
        ("http://localhost:8900/vc/next/api_v3", False),
        ("http://sandbox:8900/vc/next/api_v3", False),  # deploy/compose.yaml
        ("http://10.1.2.3/api_v3", False),
        ("http://192.168.0.5/api_v3", False),
        ("http://169.254.169.254/latest", False),
        ("http://[::1]:8900/api_v3", False),
        ("http://[fd00::1]/api_v3", False),
        ("http://vsee.svc.cluster.local/api_v3", False),
        ("http://vsee.internal/api_v3", False),
        # Review of issue 13: addresses resolvers read as IPv4 (inet_aton's short, octal and
        # hex forms) are not DNS names, and Kubernetes' `<service>.<namespace>.svc`.
        ("http://127.1/api_v3", False),
        ("http://0177.0.0.1/api_v3", False),
        ("http://0x7f.0.0.1/api_v3", False),
        ("http://vsee.default.svc/api_v3", False),
        ("https://api3.vsee.me/api_v3", True),
    ],
)
def test_only_a_public_upstream_gives_files_a_base(api_base: str, public: bool) -> None:
    assert public_files_base(api_base) == (api_base if public else None)


def test_relative_paths_resolve_under_the_base() -> None:
    path = "files/2016/08/17/57b4c65d-7ef8-461f-8951-43b1ac1f0144.png"
    assert resolve_file(VSEE, path) == f"{VSEE}/{path}"
    assert resolve_file(VSEE + "/", path) == f"{VSEE}/{path}"
    assert resolve_file(VSEE, PHOTO) == PHOTO  # already absolute: kept
    # An internal upstream: no URL, and nothing counted (the path itself is fine).
    assert counted(lambda: resolve_file(None, path)) == (None, [])
    assert counted(lambda: resolve_file(VSEE, None)) == (None, [])


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "files/../../x.png",
        "files//a.png",
        "/files/a.png",
        "files/a.png?x=1",
        "files/a.png#f",
        "files/a b.png",
        "javascript:alert(1)",
        "ftp://host/a.png",
    ],
)
def test_paths_that_are_not_plain_relative_ones_are_null_and_counted(path: str) -> None:
    url, seen = counted(lambda: resolve_file(VSEE, path))
    assert url is None
    assert len(seen) == 1


@pytest.fixture
def gateway_on() -> Callable[..., Any]:
    """The real app in process on an upstream URL of the test's choice, VSee answering the
    docs' GET /intakes/:id example through a MockTransport (no address is ever dialled)."""
    calls: list[str] = []
    body = json.loads((EXAMPLES / "intake_get.json").read_text())

    def vsee(call: httpx.Request) -> httpx.Response:
        calls.append(f"{call.method} {call.url.path}")
        return httpx.Response(200, json=body)

    async def run(api_url: str, query: str) -> tuple[dict[str, Any], list[str]]:
        app = create_app(Settings(api_url=api_url), upstream_transport=httpx.MockTransport(vsee))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gateway"
            ) as client,
        ):
            response = await client.post(
                "/graphql",
                json={"query": query},
                headers={"X-ApiToken": "t", "X-AccountCode": "vclinic"},
            )
        calls_made = list(calls)
        calls.clear()
        return response.json(), calls_made

    return run


INTAKE = "57b4c678-de20-4c1a-a52b-43e9ac1f0144"
QUERY = f'{{ intake(id: "{gid("Intake", INTAKE)}") {{ attachments {{ path url }} }} }}'
PATH = "files/2016/08/17/57b4c65d-7ef8-461f-8951-43b1ac1f0144.png"


async def test_an_attachment_on_vsee_has_its_absolute_url(gateway_on: Callable[..., Any]) -> None:
    body, calls = await gateway_on(VSEE, QUERY)
    assert body == {"data": {"intake": {"attachments": [{"path": PATH, "url": f"{VSEE}/{PATH}"}]}}}
    assert calls == [f"GET /vc/next/api_v3/intakes/{INTAKE}"]


@pytest.mark.parametrize(
    "internal", ["http://127.0.0.1:8900/vc/next/api_v3", "http://sandbox:8900/vc/next/api_v3"]
)
async def test_an_internal_upstream_gives_no_url_and_keeps_the_path(
    gateway_on: Callable[..., Any], internal: str
) -> None:
    body, _ = await gateway_on(internal, QUERY)
    assert body == {"data": {"intake": {"attachments": [{"path": PATH, "url": None}]}}}
    assert "8900" not in json.dumps(body)


# Adversarial review (issue 13): the URL an attachment gets is always under VSee's api_v3 base,
# whatever path VSee (or whoever wrote the record) put in it.
@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/files/a.png",  # an absolute path elsewhere is not kept
        "http://api.vseepreview.com/vc/next/api_v3/files/a.png",  # another scheme: another origin
        "https://api.vseepreview.com/other/files/a.png",  # VSee's host, outside api_v3
        "https://api.vseepreview.com/vc/next/api_v3@evil.example/a.png",
        f"{VSEE}/files/%2e%2e/%2e%2e/%2e%2e/x.png",  # under the base only before normalising
        # Percent-encoded dot segments and separators: browsers (WHATWG URL) read `%2e%2e` as
        # `..`, so these would leave api_v3 once a client follows them.
        "files/%2e%2e/%2e%2e/%2e%2e/evil.png",
        "files/.%2E/x.png",
        "files/%2E/x.png",
        "files/..%2f..%2fx.png",
        "files/a%5c..%5cb.png",
        "files/a%00.png",
        "files/a%0a.png",
    ],
)
def test_attachment_urls_never_leave_the_vsee_base(path: str) -> None:
    url, seen = counted(lambda: resolve_file(VSEE, path))
    assert url is None
    assert len(seen) == 1


def test_an_absolute_path_on_an_internal_upstream_gives_no_url() -> None:
    # The docs' promise: no URL at all when the upstream is internal, absolute paths included.
    assert resolve_file(None, "http://10.0.0.5/files/a.png") is None
    assert resolve_file(None, "http://sandbox:8900/vc/next/api_v3/files/a.png") is None
    assert resolve_file(None, PHOTO) is None


def test_a_path_with_a_newline_inside_is_counted() -> None:
    url, seen = counted(lambda: resolve_file(VSEE, "files/a.png\n/b.png"))
    assert (url, len(seen)) == (None, 1)


@pytest.mark.parametrize(
    "value",
    [
        "https://user:pass@api.vseepreview.com/x",  # credentials in a URL
        "https://api.vseepreview.com@evil.example/",  # a host that reads like VSee's
        "https://@api.vseepreview.com/",
    ],
)
def test_urls_with_userinfo_are_refused(value: str) -> None:
    assert not is_absolute_url(value)
    with pytest.raises(ValueError, match="absolute"):
        _parse_url(value)
    assert counted(lambda: Provider.from_raw({"id": "7", "photo": value}).photo) == (
        None,
        ["photo URL"],
    )


@pytest.mark.parametrize("value", ["https://h.example/\n", "https://h.example/a?x=\n"])
def test_a_trailing_newline_is_not_an_rfc_3986_character(value: str) -> None:
    # `$` in a Python pattern matches before a final newline: the check must not.
    assert not is_absolute_url(value)
    with pytest.raises(ValueError, match="absolute"):
        _parse_url(value)


def test_the_photo_of_the_docs_is_kept_and_a_long_path_is_checked_in_linear_time() -> None:
    assert Provider.from_raw({"id": "1096", "photo": PHOTO}).photo == PHOTO
    assert resolve_file(VSEE, PHOTO) == PHOTO
    # A million-character path of dot segments and escapes: refused, in one pass.
    hostile = "files/" + "%2e%2e/" * 150_000
    assert counted(lambda: resolve_file(VSEE, hostile))[0] is None


async def test_hostile_attachment_paths_through_graphql_give_no_url_and_no_error() -> None:
    # The whole path: VSee (here a MockTransport) answers the docs' intake with attachments
    # whose paths try to leave the base; each keeps its raw path, has a null url, no error.
    body = json.loads((EXAMPLES / "intake_get.json").read_text())
    good = body["data"]["attachments"][0]
    hostile = [
        "https://evil.example/x.png",
        "//evil.example/x.png",
        "\\\\evil.example\\x.png",
        "files/%2e%2e/%2e%2e/%2e%2e/x.png",
        "files/..%2f..%2fx.png",
        " files/a b.png ",
        "files/\u2025/x.png",
    ]
    body["data"]["attachments"] = [good] + [
        {**good, "_id": f"a{n}", "path": path} for n, path in enumerate(hostile)
    ]

    def vsee(call: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    app = create_app(Settings(api_url=VSEE), upstream_transport=httpx.MockTransport(vsee))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client,
    ):
        response = await client.post(
            "/graphql",
            json={"query": QUERY},
            headers={"X-ApiToken": "t", "X-AccountCode": "vclinic"},
        )
    answer = response.json()
    assert "errors" not in answer, answer
    attachments = answer["data"]["intake"]["attachments"]
    assert attachments[0] == {"path": PATH, "url": f"{VSEE}/{PATH}"}
    assert [a["url"] for a in attachments[1:]] == [None] * len(hostile)
    assert [a["path"] for a in attachments[1:]] == hostile  # raw, as VSee sent it
