"""Normalise VSee's loosely typed values (string-or-number ids, epoch strings, {sec, usec})."""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

_EPOCH_MAX = 32503680000  # year 3000; larger numbers are milliseconds

logger = logging.getLogger("gateway.convert")

# Told about every value VSee sent that could not be converted (the app counts them in metrics).
observers: list[Callable[[str], None]] = []
_logged: set[str] = set()


def unconvertible(kind: str, value: Any) -> None:
    """A value became null because it could not be converted: count it, log each kind once."""
    for observer in list(observers):
        observer(kind)
    if kind not in _logged:
        _logged.add(kind)
        # The value's type and length only: it is caller data and may be long.
        logger.warning(
            "VSee sent a %s value that cannot be converted (%s of length %d); it reads as null",
            kind,
            type(value).__name__,
            len(str(value)),
        )


def as_id(value: Any) -> str | None:
    """An id whatever VSee sent: ``"1525"``, ``1525`` and ``1525.0`` are all ``"1525"``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def as_ref_id(value: Any) -> str | None:
    """Like ``as_id``, but VSee's ``0`` / ``"0"`` means "none" for references (e.g. provider)."""
    text = as_id(value)
    return None if text in (None, "0", "--") else text


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        unconvertible("int", value)
        return None


# GraphQL's Int is a signed 32-bit integer: a raw code beyond it could not be answered.
_INT32 = 2**31 - 1
_CODE = re.compile(r"[+-]?[0-9]{1,10}")


def is_absent(value: Any) -> bool:
    """Whether VSee sent no value: null, or its empty and ``"--"`` placeholders."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "--"))


def as_code(value: Any) -> int | None:
    """VSee's numeric code however it is written (``20``, ``"20"``, ``20.0``), as a GraphQL Int.

    Nothing else is a code: not ``"20.5"`` or ``"2e1"`` (which ``as_int`` would round to 20), not
    a boolean, not a number beyond 32 bits. Not counted here: the enum conversion counts it.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if _CODE.fullmatch(text) else None
    return value if isinstance(value, int) and -_INT32 - 1 <= value <= _INT32 else None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = _float(value)
    if number is None and str(value).strip():
        unconvertible("float", value)
    return number


def _float(value: Any) -> float | None:
    """A finite float, or ``None``, without reporting (callers may try other readings)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def as_text(value: Any) -> str | None:
    """A string with VSee's empty and ``"--"`` placeholders read as absent."""
    text = as_str(value)
    return None if text is None or text.strip() in ("", "--") else text


def as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n", ""):
        return False
    return None


def as_datetime(value: Any) -> datetime | None:
    """Epoch seconds as a number, a numeric string, or a Mongo-style ``{sec, usec}`` object."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):
        sec = _float(value.get("sec"))
        if sec is None:
            return None
        usec = _float(value.get("usec")) or 0.0
        return _from_epoch(sec + usec / 1_000_000)
    number = _float(value)
    if number is None:
        return _from_iso(str(value))
    if number <= 0:
        return None
    return _from_epoch(number)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > _EPOCH_MAX:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.year < 1900:  # VSee's "0001-01-01T00:00:00" means "never"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_date(value: Any) -> date | None:
    text = as_text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def as_decimal_str(value: Any) -> str | None:
    """Money as a canonical decimal string: ``"00.00"`` → ``"0.00"``, ``25`` → ``"25.00"``."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
        if not amount.is_finite():
            raise InvalidOperation
        return str(amount.quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError, OverflowError):
        # e.g. "1e30": too many digits for the quantisation context.
        unconvertible("decimal", value)
        return None


def as_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def to_epoch(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


# Times a caller may send to VSee: from the epoch to 2100-01-01Z. Outside it, a time is a
# mistake (year 1 or 9999) that VSee would refuse or misread; it is refused before sending.
MAX_EPOCH = 4_102_444_800


def in_epoch_range(epoch: int) -> bool:
    """Whether an epoch time is one the gateway will send to VSee."""
    return 0 < epoch < MAX_EPOCH


# URLs: RFC 3986 characters only (unreserved, reserved, and percent-escapes), bounded length.
MAX_URL = 2048
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A relative file path as VSee answers it (`files/2016/08/17/<id>.png`): segments of path
# characters, no scheme, query, fragment, empty or dot segments.
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%]+")
# Escapes that turn a harmless-looking segment into a separator or a control character once a
# client or server decodes it: `/` and `\`, C0 controls and DEL.
_BAD_ESCAPE = re.compile(r"%(?:2[Ff]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])")


def is_absolute_url(value: object) -> bool:
    """Whether ``value`` is an absolute http(s) URL (RFC 3986) with a host and no userinfo."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL:
        return False
    # fullmatch, not `^...$`: `$` also matches before a final newline.
    if not _URL_CHARS.fullmatch(value) or _PERCENT.search(value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return False
    # Userinfo (`user:pass@`) is deprecated by RFC 3986 (3.2.1) and is how a URL is made to
    # read like one host while naming another (`https://vsee.example@evil.example/`).
    if "@" in parts.netloc:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def as_url(value: Any, kind: str = "URL") -> str | None:
    """An absolute http(s) URL as VSee sent it; anything else is null (and counted)."""
    text = as_text(value)
    if text is None:
        return None
    text = text.strip()
    if is_absolute_url(text):
        return text
    unconvertible(kind, value)
    return None


def _plain_segments(segments: list[str]) -> bool:
    """Whether every path segment is a plain name: path characters only, not empty, not a dot
    segment written plainly or percent-encoded (WHATWG URL reads `%2e%2e` as `..`), and no
    escape that decodes to a separator or a control character."""
    for seg in segments:
        if not _PATH_SEGMENT.fullmatch(seg) or _BAD_ESCAPE.search(seg):
            return False
        if seg.replace("%2e", ".").replace("%2E", ".") in (".", ".."):
            return False
    return True


def resolve_file(base: str | None, path: Any) -> str | None:
    """The absolute URL of a file VSee names by a relative path, under ``base``.

    Inferred: VSee's docs give attachments only a relative `path` (`files/2016/08/17/<id>.png`);
    its own absolute file URLs (a provider's photo) live under the api_v3 base, so the path is
    read as relative to it. The answer is always under ``base``: a path that is already an
    absolute URL is kept only when it is under ``base`` too; one elsewhere (another host, scheme
    or path), with a scheme other than http(s), dot segments (plain or percent-encoded), a
    query or fragment on a relative path, is null and counted. No base (an upstream on an
    internal address) means null, absolute paths included.
    """
    text = as_text(path)
    if text is None:
        return None
    text = text.strip()
    if "://" in text:
        return _under_base(base, text)
    segments = text.split("/")
    if (
        len(text) > MAX_URL
        or text.startswith("/")
        or ":" in segments[0]  # RFC 3986 4.2: that would read as a scheme (`javascript:`)
        or _PERCENT.search(text)
        or not _plain_segments(segments)
    ):
        unconvertible("attachment path", path)
        return None
    if base is None:
        return None
    url = f"{base.rstrip('/')}/{text}"
    return url if is_absolute_url(url) else None


def _under_base(base: str | None, url: str) -> str | None:
    """An absolute file URL VSee sent, kept only when it lies under ``base``."""
    if base is None:
        return None
    prefix = f"{base.rstrip('/')}/"
    rest = url[len(prefix) :].partition("?")[0].partition("#")[0]
    if (
        not is_absolute_url(url)
        or not url.startswith(prefix)
        # Empty segments are allowed here (VSee's photo URLs end in `/`), dot segments are not.
        or not _plain_segments([seg for seg in rest.split("/") if seg])
    ):
        unconvertible("attachment path", url)
        return None
    return url


_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*")


@functools.lru_cache(maxsize=8)
def public_files_base(api_base: str) -> str | None:
    """The base relative file paths resolve against, or None for an internal upstream.

    A loopback, private, link-local or unspecified address, ``localhost``, a single-label host
    (a compose or cluster service name such as ``sandbox``) and ``.local``/``.internal`` names
    are internal to the deployment: a URL on them is useless to a client and names an internal
    address, so files get no URL there.
    """
    try:
        parts = urlsplit(api_base)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        internal = (
            "." not in host
            or host == "localhost"
            or host.endswith((".localhost", ".local", ".internal", ".localdomain", ".svc"))
            # Every label a number (127.1, 0177.0.0.1, 0x7f.0.0.1): no DNS name but an IPv4
            # address in one of the forms resolvers (inet_aton) still accept.
            or all(_NUMERIC_LABEL.fullmatch(label) for label in host.split("."))
        )
    else:
        internal = not address.is_global
    return None if internal else api_base.rstrip("/")
