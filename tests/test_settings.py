"""Settings: VSEE_* variables, overrides, and one clear line for a bad value."""

import pytest

from gateway.settings import SettingsError, load_settings


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSEE_API_URL", "http://127.0.0.1:9/vc/next/api_v3/")
    monkeypatch.setenv("VSEE_CORS_ORIGINS", '["https://dash.example"]')
    monkeypatch.setenv("VSEE_GRAPHIQL", "false")
    settings = load_settings(gateway_port=9000, workers=None)
    assert settings.api_base == "http://127.0.0.1:9/vc/next/api_v3"
    assert settings.cors_origins == ["https://dash.example"]
    assert settings.graphiql is False
    assert settings.gateway_port == 9000
    assert settings.workers == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VSEE_GATEWAY_PORT", "70000"),
        ("VSEE_API_URL", "not a url"),
        ("VSEE_CACHE_URL", "redsi://typo:6379"),
        ("VSEE_AVAILABILITY_TTL", "-1"),
        ("VSEE_UPSTREAM_TRANSPORT", "curl"),
    ],
)
def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"invalid setting {name}:")
    assert "\n" not in message


def test_redis_urls_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSEE_CACHE_URL", "redis://cache:6379/0")
    assert load_settings().cache_url == "redis://cache:6379/0"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VSEE_IDEMPOTENCY_TTL", "inf"),
        ("VSEE_IDEMPOTENCY_TTL", "nan"),
        ("VSEE_IDEMPOTENCY_TTL", "1e12"),
        ("VSEE_PERSISTED_QUERY_TTL", "inf"),
        ("VSEE_AVAILABILITY_CACHE_SIZE", "100000000000"),
        ("VSEE_IDEMPOTENCY_CACHE_SIZE", "100000000000"),
        ("VSEE_MAX_CONCURRENT_REQUESTS", "1000000"),
    ],
)
def test_settings_are_bounded_and_never_infinite(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
