"""OpenPGP encryption of result files (``encrypted: pgp``) to the tenant's public key.

python-gnupg drives the ``gpg`` binary. Every operation gets a throwaway ``GNUPGHOME`` (a
temporary directory holding only the tenant's key, removed afterwards), so nothing is shared
between tenants or left behind. ``--no-autostart`` keeps gpg from starting an agent: encrypting
to a public key needs none, and an agent would outlive the directory. The key is trusted as
given (``always_trust``): the operator who set it vouched for it. Output is binary OpenPGP, not
ASCII armour (a third smaller; ``gpg --decrypt`` reads both).

The file is compressed first (gzip / zip packaging happens before this step), because
ciphertext does not compress; a client decrypts, then unpacks.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import gnupg

from aquarium.domain import errors

#: The download's Content-Type. RFC 3156 registers ``application/pgp-encrypted`` for OpenPGP
#: encrypted data; Zuora documents none for encrypted AQuA files.
CONTENT_TYPE = "application/pgp-encrypted"
GPG_BINARY = "gpg"
GPG_OPTIONS = ("--no-autostart",)
SETUP_HINT = "set one with `aquarium tenant set-pgp-key TENANT FILE`"


def encrypt_file(source: Path, target: Path, armored_key: str | None) -> None:
    """Encrypt ``source`` into ``target`` for the holder of ``armored_key``.

    Raises :class:`errors.EncryptionFailed` when the key is missing or unusable, or gpg fails.
    """
    if not armored_key:
        raise errors.EncryptionFailed(
            f"encrypting the result: the tenant has no PGP public key; {SETUP_HINT}"
        )
    home = tempfile.mkdtemp(prefix="aquarium-gpg-")
    try:
        gpg = _gpg(home)
        imported = gpg.import_keys(armored_key)
        recipients = list(imported.fingerprints or [])
        if not recipients:
            raise errors.EncryptionFailed(
                f"encrypting the result: the tenant's PGP public key cannot be used; {SETUP_HINT}"
            )
        with source.open("rb") as plain:
            result = gpg.encrypt_file(
                plain, recipients, always_trust=True, armor=False, output=str(target)
            )
        if not result.ok:
            raise errors.EncryptionFailed(
                f"encrypting the result failed: {result.status or 'gpg error'}"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _gpg(home: str) -> gnupg.GPG:
    try:
        return gnupg.GPG(gpgbinary=GPG_BINARY, gnupghome=home, options=list(GPG_OPTIONS))
    except (OSError, ValueError) as exc:  # python-gnupg: binary missing, or it failed to start
        raise errors.EncryptionFailed(
            f"encrypting the result: cannot run {GPG_BINARY}: {exc}"
        ) from None
