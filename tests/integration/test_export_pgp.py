"""``encrypted: pgp``: result files encrypted to the tenant's key, decrypted here with ``gpg``.

A throwaway keypair is made with gpg in a temporary GNUPGHOME; its public half is set on the
tenant as ``aquarium tenant set-pgp-key`` would, and its secret half decrypts what the server
wrote. Encryption follows packaging, so gzip and zip files decrypt to the gzip or zip file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gnupg
import pytest

from aquarium import datagen
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming
from aquarium.export import pgp, segments
from aquarium.services import aqua_wire
from tests import tenants_setup
from tests.integration import test_runner_support as support
from tests.integration.test_export_segments import Snapshotted, segment_maker
from tests.integration.test_runner_support import JS, PRINCIPAL, TENANT, ServerFactory

make_server = support.make_server
QUERY = "select Id, Name, AccountNumber, Balance from Account"

if shutil.which("gpg") is None:
    # .ci/prepare installs Debian's gnupg where it can; elsewhere these tests skip with a reason.
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true requires the gpg binary (.ci/prepare installs gnupg)", pytrace=False)
    pytest.skip("the gpg binary is not installed (Debian package gnupg)", allow_module_level=True)
SMALL_SCALE = 0.05


@pytest.fixture(scope="module")
def billing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small data: these tests are about the files, not the engine."""
    data_dir = tmp_path_factory.mktemp("billing-pgp")
    datagen.generate_into(data_dir, TENANT, scale=SMALL_SCALE, seed=support.SEED)
    return data_dir / naming.DUCKDB_FILE


@dataclass
class Keypair:
    gpg: gnupg.GPG
    public_key: str

    def decrypt(self, data: bytes) -> bytes:
        result = self.gpg.decrypt(data)
        assert result.ok, result.status
        return bytes(result.data)


@pytest.fixture(scope="module")
def keypair() -> Iterator[Keypair]:
    # A short path: gpg-agent's socket lives in GNUPGHOME and socket paths are limited.
    home = tempfile.mkdtemp(prefix="aq-gpg-test-")
    try:
        gpg = gnupg.GPG(gnupghome=home)
        settings = gpg.gen_key_input(
            name_email="results@aquarium.test",
            key_type="EDDSA",
            key_curve="ed25519",
            subkey_type="ECDH",
            subkey_curve="cv25519",
            no_protection=True,
        )
        key = gpg.gen_key(settings)
        assert key.fingerprint, key.stderr
        yield Keypair(gpg, gpg.export_keys(key.fingerprint))
    finally:
        # Generating and decrypting started an agent for this home: end it with the home.
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def _plain_csv(file_format: str, data: bytes) -> bytes:
    if file_format == "GZIP":
        return gzip.decompress(data)
    if file_format == "ZIP":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.namelist() == ["q0.csv"]
            return archive.read("q0.csv")
    return data


@pytest.mark.parametrize("file_format", ["CSV", "GZIP", "ZIP"])
def test_results_decrypt_to_the_plain_result(
    make_server: ServerFactory, keypair: Keypair, file_format: str
) -> None:
    h = make_server(start=False)
    tenants_setup.set_pgp_key(h.srv, TENANT, keypair.public_key)
    encrypted_job = h.submit(QUERY, format=file_format.lower(), encrypted="pgp")
    plain_job = h.submit(QUERY)
    h.srv.start()

    record = h.wait_terminal(encrypted_job)
    assert record.status == JS.COMPLETED, record
    assert record.encrypted == "pgp"
    assert aqua_wire.job_document(record, time_zone="UTC")["encrypted"] == "pgp"
    plain = h.wait_terminal(plain_job)
    assert plain.status == JS.COMPLETED

    file_id = record.batches[0].file_id
    assert file_id is not None
    download = h.aqua.file(PRINCIPAL, file_id)
    data = download.path.read_bytes()
    assert download.content_type == pgp.CONTENT_TYPE == "application/pgp-encrypted"
    assert download.size == len(data)
    assert download.sha256 == hashlib.sha256(data).hexdigest()
    assert not data.startswith(b"-----BEGIN"), "binary OpenPGP, not ASCII armour"

    expected = h.aqua.file(PRINCIPAL, plain.batches[0].file_id or "").path.read_bytes()
    assert _plain_csv(file_format, keypair.decrypt(data)) == expected
    assert record.batches[0].record_count == plain.batches[0].record_count > 0
    assert not h.partial_files()
    assert not list(h.results_dir.rglob("*.packed")), "the packaged file behind it is removed"


def test_pgp_without_a_key_is_refused_at_submit(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    with pytest.raises(errors.MalformedRequest) as raised:
        h.aqua.submit(PRINCIPAL, support.body(QUERY, encrypted="pgp"))
    assert "aquarium tenant set-pgp-key" in raised.value.describe()
    assert h.all_jobs() == []
    # "none" (any case) needs no key.
    assert h.aqua.submit(PRINCIPAL, support.body(QUERY, encrypted="NONE"))["encrypted"] == "none"


def test_a_key_removed_after_submit_aborts_the_batch(
    make_server: ServerFactory, keypair: Keypair
) -> None:
    h = make_server(start=False)
    tenants_setup.set_pgp_key(h.srv, TENANT, keypair.public_key)
    job_id = h.submit(QUERY, encrypted="pgp")
    tenants_setup.set_pgp_key(h.srv, TENANT, None)
    h.srv.start()

    record = h.wait_terminal(job_id)
    assert record.status == JS.ABORTED
    assert "set-pgp-key" in record.batches[0].message
    h.wait_no_orphans()


def test_encrypt_file_refuses_an_unusable_key(tmp_path: Path) -> None:
    source = tmp_path / "plain.csv"
    source.write_bytes(b"a,b\n1,2\n")
    broken = (
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    with pytest.raises(errors.EncryptionFailed, match="cannot be used"):
        pgp.encrypt_file(source, tmp_path / "out", broken)
    with pytest.raises(errors.EncryptionFailed, match="no PGP public key"):
        pgp.encrypt_file(source, tmp_path / "out", None)


def test_encrypted_segments_each_decrypt_to_their_gzip_segment(
    make_server: ServerFactory, keypair: Keypair
) -> None:
    h = make_server(start=False, limits={"segment_rows": 20})
    tenants_setup.set_pgp_key(h.srv, TENANT, keypair.public_key)
    tenants_setup.set_file_segmentation(h.srv, TENANT, True)
    segmented = h.submit(QUERY, format="gzip", encrypted="pgp", partner="p", project="pgp")
    plain_job = h.submit(QUERY)
    h.srv.start()

    batch = h.wait_terminal(segmented).batches[0]
    plain = h.wait_terminal(plain_job).batches[0]
    assert len(batch.segments) > 1
    header, *expected = h.aqua.file(PRINCIPAL, plain.file_id or "").path.read_bytes().splitlines()
    rows: list[bytes] = []
    for file_id in batch.segments:
        download = h.aqua.file(PRINCIPAL, file_id)
        assert download.content_type == pgp.CONTENT_TYPE
        first, *lines = gzip.decompress(keypair.decrypt(download.path.read_bytes())).splitlines()
        assert first == header
        rows += lines
    assert sorted(rows) == sorted(expected)
    assert not h.partial_files()
    assert not list(h.results_dir.rglob("*.packed"))


def test_a_segment_that_cannot_be_encrypted_ends_the_export_with_that_error(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    broken = (
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    new_file, made = segment_maker(tmp_path)
    with duck.snapshot("acme") as snapshot:
        query = Snapshotted(snapshot, "duckdb", "acme").query()
        with pytest.raises(errors.EncryptionFailed, match="cannot be used"):
            segments.write_segments(
                snapshot, query, tmp_path / ".run.scratch.partial", new_file,
                file_format="GZIP", query_name="q", csv=base.CsvOptions(), rows_per_segment=100,
                encrypt_to=broken,
            )  # fmt: skip
    assert sorted(p for p in tmp_path.iterdir() if p not in made) == []
