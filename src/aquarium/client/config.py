"""Where to connect and as whom: command-line options, then environment, then a TOML file.

Each setting is looked up on its own, first in the options, then in the environment
(``AQUARIUM_URL``, ``AQUARIUM_USER``, ``AQUARIUM_PASSWORD``, ``AQUARIUM_CLIENT_ID``,
``AQUARIUM_CLIENT_SECRET``), then in the config file (keys ``url``, ``user``, ``password``,
``client_id``, ``client_secret``); the URL defaults to http://127.0.0.1:8080.

Which *kind* of credentials is used is decided by the first of those three places that names an
identity (a user or a client id): a ``--client-id`` option wins over ``AQUARIUM_USER``. Its
secret may come from a later place, so ``--user demo`` with ``AQUARIUM_PASSWORD`` set works and
keeps the password out of the process list.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aquarium.client import api, errors, session

KEYS = ("url", "user", "password", "client_id", "client_secret")
ENV_BY_KEY = {key: f"AQUARIUM_{key.upper()}" for key in KEYS}
DEFAULT_CONFIG_PATH = Path("~/.config/aquarium/client.toml")

Settings = Mapping[str, str | None]


@dataclass(frozen=True)
class Connection:
    """A server URL and the credentials to use there."""

    url: str
    credentials: session.Credentials


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings found in ``AQUARIUM_*`` variables (empty values count as absent)."""
    return {key: environ[name] for key, name in ENV_BY_KEY.items() if environ.get(name)}


def read_config_file(path: Path | None) -> dict[str, str]:
    """The settings of a TOML config file.

    ``None`` means the default path, which may be missing (no settings). A path that was asked
    for and is missing, unreadable TOML, unknown keys and non-string values raise
    :class:`~aquarium.client.errors.ConfigError` naming the file.
    """
    chosen = (path or DEFAULT_CONFIG_PATH).expanduser()
    if path is None and not chosen.exists():
        return {}
    try:
        document = tomllib.loads(chosen.read_text("utf-8"))
    except OSError as exc:
        raise errors.ConfigError(f"cannot read the config file {chosen}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise errors.ConfigError(f"the config file {chosen} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - set(KEYS))
    if unknown:
        raise errors.ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {chosen}; known: {', '.join(KEYS)}"
        )
    wrong = sorted(key for key, value in document.items() if not isinstance(value, str))
    if wrong:
        raise errors.ConfigError(f"{', '.join(wrong)} in {chosen} must be text (quoted)")
    return {key: value for key, value in document.items() if value}


def resolve(options: Settings, environment: Settings, config_file: Settings) -> Connection:
    """The connection the three sources describe (see the module docstring).

    Raises :class:`~aquarium.client.errors.ConfigError` when no source names credentials, when
    one source names both a user and a client id, or when the chosen kind lacks its secret.
    """
    sources = (options, environment, config_file)

    def first(key: str) -> str | None:
        return next((s[key] for s in sources if s.get(key)), None)

    url = first("url") or api.DEFAULT_URL
    for source in sources:
        user, client_id = source.get("user"), source.get("client_id")
        if user and client_id:
            raise errors.ConfigError("a user and an OAuth client id were both given; use one")
        if user:
            password = first("password")
            if not password:
                raise errors.ConfigError(
                    "a user needs a password: --password, AQUARIUM_PASSWORD or the config file"
                )
            return Connection(url, session.Credentials.basic(user, password))
        if client_id:
            secret = first("client_secret")
            if not secret:
                raise errors.ConfigError(
                    "an OAuth client id needs its secret: --client-secret, "
                    "AQUARIUM_CLIENT_SECRET or the config file"
                )
            return Connection(url, session.Credentials.oauth(client_id, secret))
    raise errors.ConfigError(
        "no credentials: give --user and --password (or --client-id and --client-secret), "
        "set AQUARIUM_USER / AQUARIUM_PASSWORD, or write them in "
        f"{DEFAULT_CONFIG_PATH}"
    )
