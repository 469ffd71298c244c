"""Where the command-line client connects and as whom: options, environment, config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aquarium.client import api, config, errors, session


def resolve(
    options: config.Settings | None = None,
    env: dict[str, str] | None = None,
    file: config.Settings | None = None,
) -> config.Connection:
    return config.resolve(options or {}, config.from_environment(env or {}), file or {})


def test_the_url_defaults_to_the_local_server() -> None:
    assert resolve({"user": "u", "password": "p"}).url == api.DEFAULT_URL


def test_each_setting_comes_from_options_then_environment_then_file() -> None:
    found = resolve(
        {"user": "from-option"},
        {"AQUARIUM_URL": "http://env:1", "AQUARIUM_PASSWORD": "env-password"},
        {"url": "http://file:2", "user": "file-user", "password": "file-password"},
    )
    assert found.url == "http://env:1"
    assert found.credentials == session.Credentials.basic("from-option", "env-password")


def test_the_first_place_naming_an_identity_decides_the_kind() -> None:
    oauth = resolve({"client_id": "c"}, {"AQUARIUM_USER": "u", "AQUARIUM_CLIENT_SECRET": "s"})
    assert oauth.credentials == session.Credentials.oauth("c", "s")
    basic = resolve({}, {"AQUARIUM_USER": "u", "AQUARIUM_PASSWORD": "p"}, {"client_id": "c"})
    assert basic.credentials.is_oauth is False


def test_empty_environment_values_count_as_absent() -> None:
    found = resolve({}, {"AQUARIUM_USER": "", "AQUARIUM_URL": ""}, {"user": "f", "password": "p"})
    assert (found.url, found.credentials.user) == (api.DEFAULT_URL, "f")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "no credentials"),
        ({"user": "u"}, "a user needs a password"),
        ({"client_id": "c"}, "needs its secret"),
        ({"user": "u", "client_id": "c"}, "both given"),
        ({"password": "p"}, "no credentials"),
    ],
)
def test_unusable_settings_say_what_is_missing(options: config.Settings, message: str) -> None:
    with pytest.raises(errors.ConfigError, match=message):
        resolve(options)


def test_a_config_file_is_read_as_toml(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text('url = "http://x:1"\nclient_id = "c"\nclient_secret = "s"\n', "utf-8")
    assert config.read_config_file(path) == {
        "url": "http://x:1",
        "client_id": "c",
        "client_secret": "s",
    }


def test_a_missing_default_file_is_no_settings_but_a_missing_named_one_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    assert config.read_config_file(None) == {}
    with pytest.raises(errors.ConfigError, match="cannot read the config file"):
        config.read_config_file(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url = ", "not valid TOML"),
        ('usr = "demo"', "unknown key"),
        ("password = 1234", "must be text"),
    ],
)
def test_a_bad_config_file_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "client.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(errors.ConfigError, match=message) as caught:
        config.read_config_file(path)
    assert str(path) in caught.value.message
