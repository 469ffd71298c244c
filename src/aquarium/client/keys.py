"""Data Query's ``encryptionKey`` from a key file: an RSA public key as base64 DER.

Zuora asks for the base64 of a DER ``SubjectPublicKeyInfo`` (``MIGfMA0GCSqGSIb3DQEBAQUAA4GN...``
for 1024 bits; reference dataquery.md section 2), which is what ``openssl rsa -pubout`` writes
between its ``-----BEGIN PUBLIC KEY-----`` lines. :func:`encryption_key` takes that PEM, the
same key as DER bytes, or an ``RSA PUBLIC KEY`` (PKCS #1, which it wraps in the
``SubjectPublicKeyInfo`` Zuora wants). Only the shape is checked here; the server judges the key.
"""

from __future__ import annotations

import base64
import binascii
import re

#: DER of the AlgorithmIdentifier ``rsaEncryption`` (OID 1.2.840.113549.1.1.1) with NULL
#: parameters, the start of every RSA SubjectPublicKeyInfo.
RSA_ALGORITHM = bytes.fromhex("300d06092a864886f70d0101010500")
SEQUENCE, INTEGER, BIT_STRING = 0x30, 0x02, 0x03  # DER tags
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def encryption_key(data: bytes) -> str:
    """The ``encryptionKey`` of a key file's bytes (PEM or DER); raises :class:`ValueError`
    saying what is wrong: not a key, a private key, not RSA."""
    armoured = _PEM.search(data)
    if armoured is not None:
        label = armoured.group(1).decode("ascii")
        if "PRIVATE" in label:
            raise ValueError(
                "this is a private key; give its public key (openssl rsa -in KEY -pubout)"
            )
        try:
            der = base64.b64decode(b"".join(armoured.group(2).split()), validate=True)
        except binascii.Error:
            raise ValueError(f"the {label} block is not valid base64") from None
    elif data.lstrip().startswith(b"-----"):
        raise ValueError("the PEM block is not complete (no matching -----END line)")
    else:
        der = data
    return base64.b64encode(_subject_public_key_info(der)).decode("ascii")


def _subject_public_key_info(der: bytes) -> bytes:
    body = _sequence_body(der)
    if body.startswith(RSA_ALGORITHM):
        return der
    if body[:1] == bytes([INTEGER]):  # PKCS #1 RSAPublicKey: SEQUENCE { modulus, exponent }
        return _tagged(SEQUENCE, RSA_ALGORITHM + _tagged(BIT_STRING, b"\x00" + der))
    raise ValueError("not an RSA public key (Data Query encrypts with RSA only)")


def _sequence_body(der: bytes) -> bytes:
    """The contents of a DER SEQUENCE spanning all of ``der``; :class:`ValueError` if it is
    anything else."""
    not_a_key = ValueError("not a public key: give a PEM (-----BEGIN PUBLIC KEY-----) or DER file")
    if len(der) < 2 or der[0] != SEQUENCE:
        raise not_a_key
    size, start = der[1], 2
    if size & 0x80:  # long form: the next (size & 0x7f) bytes hold the length
        count = size & 0x7F
        size, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if start + size != len(der):
        raise not_a_key
    return der[start:]


def _tagged(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content
