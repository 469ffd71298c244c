"""Encrypted Data Query results: a hybrid RSA + AES-GCM file a client opens with its private key.

Zuora documents only that ``encryptionKey`` is a base64 RSA public key (1024 bits) and that the
file is decrypted with the private key (dataquery.md 12.9); the container is ours:

======  ===========  =======================================================================
offset  size         field
======  ===========  =======================================================================
0       8            magic ``AQDQENC1``
8       2            ``n``, the length of the wrapped key (unsigned, big-endian)
10      ``n``        a random AES-256 key encrypted with the RSA key, OAEP padding with SHA-256
                     (MGF1 SHA-256, no label); ``n`` is the key's size in bytes
10+n    12           the AES-GCM nonce
22+n    ...          the result file (as packaged: gzip / zip) encrypted with AES-256-GCM; the
                     authenticated data is every byte above (the header)
end-16  16           the GCM tag
======  ===========  =======================================================================

To decrypt: read the header, unwrap the key with the private key, decrypt the rest with
AES-256-GCM (nonce, tag, and the header as associated data). The file is encrypted in chunks as
it is read (constant memory); one GCM message holds at most :data:`MAX_PLAIN_BYTES`.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from aquarium.domain import errors

MAGIC = b"AQDQENC1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32  # AES-256
MIN_KEY_BITS = 1024  # Zuora's documented key size
MAX_KEY_TEXT = 20_000  # characters: a 16,384-bit key's base64 DER is about 2,800
CHUNK_BYTES = 1 << 20
#: GCM's limit for one message (2^39 - 256 bits).
MAX_PLAIN_BYTES = (1 << 36) - 32
#: The download's Content-Type: an opaque container only its recipient can read.
CONTENT_TYPE = "application/octet-stream"


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """The RSA public key of ``text``: base64 DER (SubjectPublicKeyInfo or PKCS#1), or PEM.

    Raises :class:`ValueError` with a sentence a client can act on.
    """
    text = text.strip()
    if not text:
        raise ValueError("encryptionKey is empty")
    if len(text) > MAX_KEY_TEXT:
        raise ValueError(f"encryptionKey is too long (more than {MAX_KEY_TEXT} characters)")
    if "PRIVATE KEY" in text:
        raise ValueError("encryptionKey holds a private key: send the public key only")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, binascii.Error) or "base64" in str(exc).lower():
            raise ValueError("encryptionKey is not valid base64") from None
        raise ValueError("encryptionKey is not an RSA public key") from None
    except UnsupportedAlgorithm:
        raise ValueError("encryptionKey is not an RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("encryptionKey is not an RSA public key")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(
            f"encryptionKey is an RSA key of {key.key_size} bits; at least {MIN_KEY_BITS} "
            "are needed"
        )
    return key


def check_key(text: str) -> str | None:
    """Why ``text`` cannot encrypt a result, or None when it can."""
    try:
        load_public_key(text)
    except ValueError as exc:
        return str(exc)
    return None


def encrypt_file(source: Path, target: Path, key_text: str) -> None:
    """Encrypt ``source`` into ``target`` for the holder of the private half of ``key_text``.

    Raises :class:`errors.EncryptionFailed` when the key is unusable or the file too large.
    """
    try:
        public_key = load_public_key(key_text)
    except ValueError as exc:
        raise errors.EncryptionFailed(f"encrypting the result: {exc}") from None
    if source.stat().st_size > MAX_PLAIN_BYTES:
        raise errors.EncryptionFailed(
            "encrypting the result: it is larger than one encrypted file may be (64 GiB)"
        )
    key = os.urandom(KEY_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    wrapped = public_key.encrypt(key, _oaep())
    header = MAGIC + struct.pack(">H", len(wrapped)) + wrapped + nonce
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(header)
    with source.open("rb") as plain, target.open("wb") as out:
        out.write(header)
        while chunk := plain.read(CHUNK_BYTES):
            out.write(encryptor.update(chunk))
        out.write(encryptor.finalize())
        out.write(encryptor.tag)


def decrypt_file(path: Path, private_key_pem: bytes | str) -> bytes:
    """The plain bytes of a file :func:`encrypt_file` wrote, opened with the PEM private key.

    Raises :class:`ValueError` when the file is not such a file, or the key is not its key.
    """
    pem = private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    data = path.read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 2:
        raise ValueError("not an encrypted Data Query result")
    (length,) = struct.unpack(">H", data[len(MAGIC) : len(MAGIC) + 2])
    start = len(MAGIC) + 2
    header_end = start + length + NONCE_BYTES
    if len(data) < header_end + TAG_BYTES:
        raise ValueError("the encrypted file is cut short")
    try:
        key = private_key.decrypt(data[start : start + length], _oaep())
    except ValueError:
        raise ValueError("the file was encrypted for another key") from None
    nonce = data[start + length : header_end]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, data[-TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(data[:header_end])
    try:
        return decryptor.update(data[header_end:-TAG_BYTES]) + decryptor.finalize()
    except InvalidTag:
        raise ValueError("the encrypted file was altered or damaged") from None
