"""The Data Query result file's spec: extensions, content types, separators, encryption keys,
metadata answers (SHOW TABLES / DESCRIBE) as files, and the rendering helpers' small rules."""

from __future__ import annotations

import base64
import gzip
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from aquarium.dataquery import output
from aquarium.engines import base, row_text

F, C = output.OutputFormat, output.Compression


@pytest.mark.parametrize(
    ("spec", "extension", "content_type"),
    [
        (output.OutputSpec(F.JSON), "jsonl", "application/x-ndjson"),
        (output.OutputSpec(F.CSV), "csv", "text/csv;charset=UTF-8"),
        (output.OutputSpec(F.TSV), "tsv", "text/tab-separated-values;charset=UTF-8"),
        (output.OutputSpec(F.DSV, column_separator="|"), "dsv", "text/plain;charset=UTF-8"),
        (output.OutputSpec(F.CSV, C.GZIP), "csv.gz", "application/gzip"),
        (output.OutputSpec(F.JSON, C.GZIP), "jsonl.gz", "application/gzip"),
        (output.OutputSpec(F.TSV, C.ZIP), "tsv.zip", "application/zip"),
        (
            output.OutputSpec(F.CSV, C.GZIP, encryption_key="k"),
            "csv.gz.enc",
            "application/octet-stream",
        ),
        (output.OutputSpec(F.JSON, encryption_key="k"), "jsonl.enc", "application/octet-stream"),
    ],
)
def test_extension_and_content_type_name_the_outermost_layer(
    spec: output.OutputSpec, extension: str, content_type: str
) -> None:
    assert spec.file_extension() == extension
    assert spec.content_type() == content_type


def test_wire_values_are_the_enum_values() -> None:
    assert [f.value for f in F] == ["JSON", "CSV", "TSV", "DSV"]
    assert [c.value for c in C] == ["NONE", "GZIP", "ZIP"]
    assert F("DSV") is F.DSV


def test_each_format_has_its_separator_and_layout() -> None:
    assert output.OutputSpec(F.CSV).delimiter() == ","
    assert output.OutputSpec(F.TSV).delimiter() == "\t"
    assert output.OutputSpec(F.DSV, column_separator=";").delimiter() == ";"
    layout = output.OutputSpec(F.DSV, column_separator=";", time_zone="Asia/Tokyo").layout(
        gzip=True
    )
    assert layout == base.RowLayout(base.RowFormat.DELIMITED, ";", True, "Asia/Tokyo")
    assert output.OutputSpec(F.JSON).layout(gzip=False).format is base.RowFormat.JSON_LINES
    with pytest.raises(ValueError, match="column separator"):
        output.OutputSpec(F.DSV).delimiter()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (";", None),
        ("\t", None),
        ("^", None),
        ("", "exactly one character"),
        ("||", "exactly one character"),
        ("é", "ASCII"),
        ("\x00", "ASCII"),
        ('"', "a double quote"),
        ("\n", "a line feed"),
        ("\r", "a return"),
    ],
)
def test_column_separator_is_one_safe_ascii_character(text: str, problem: str | None) -> None:
    found = output.check_column_separator(text)
    assert found is None if problem is None else problem in (found or "")


def _rsa_der(bits: int = 1024) -> tuple[rsa.RSAPrivateKey, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, der


def test_a_base64_der_rsa_key_of_1024_bits_or_more_is_accepted() -> None:
    _, der = _rsa_der()
    text = base64.b64encode(der).decode()
    assert output.check_encryption_key(text) is None
    # Line breaks inside the base64 (as keys are often pasted) are no problem.
    assert output.check_encryption_key("\n".join([text[:40], text[40:]])) is None


def test_pem_and_pkcs1_public_keys_are_tolerated() -> None:
    private, _ = _rsa_der()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    assert output.check_encryption_key(pem.decode()) is None
    assert output.check_encryption_key(base64.b64encode(pkcs1).decode()) is None


def _small_rsa_key() -> str:
    # 512 bits: cryptography no longer generates such keys, but can still describe one.
    modulus = (1 << 511) | 0xF1  # odd, 512 bits: enough to be read as a key
    numbers = rsa.RSAPublicNumbers(65537, modulus)
    der = numbers.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_unusable_keys_are_refused_with_a_reason() -> None:
    ec_der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    private, _ = _rsa_der()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert output.check_encryption_key("") == "encryptionKey is empty"
    assert output.check_encryption_key("not base64!") == "encryptionKey is not valid base64"
    assert output.check_encryption_key("aGVsbG8=") == "encryptionKey is not an RSA public key"
    assert (
        output.check_encryption_key(base64.b64encode(ec_der).decode())
        == "encryptionKey is not an RSA public key"
    )
    assert output.check_encryption_key(_small_rsa_key()) == (
        "encryptionKey is an RSA key of 512 bits; at least 1024 are needed"
    )
    assert "private key" in (output.check_encryption_key(private_pem) or "")
    assert "too long" in (output.check_encryption_key("A" * 30_000) or "")


def test_zip_entry_names_cannot_leave_the_folder() -> None:
    spec = output.OutputSpec(F.CSV)
    assert output.zip_entry_name("b1e2-job", spec) == "b1e2-job.csv"
    assert output.zip_entry_name("../x/y", output.OutputSpec(F.JSON)) == ".._x_y.jsonl"


# Metadata answers written as files (dataquery.md 8.2) ---------------------------------------

DESCRIBE = ("Column", "Type", "Extra", "Comment")
ROWS = [
    ("accountnumber", "varchar", "", "AccountNumber"),
    ("balance", "decimal(18,6)", "", "Balance"),
]


def test_describe_as_csv_matches_zuoras_sample(tmp_path: Path) -> None:
    spec = output.OutputSpec(F.CSV)
    written = output.write_rows(DESCRIBE, ROWS, spec, tmp_path / "d", entry_name="j")
    assert written.record_count == 2
    assert (tmp_path / "d").read_text() == (
        'Column,Type,Extra,Comment\naccountnumber,varchar,,AccountNumber\nbalance,"decimal(18,6)",,Balance\n'
    )


def test_show_tables_as_json_lines(tmp_path: Path) -> None:
    spec = output.OutputSpec(F.JSON, C.GZIP)
    written = output.write_rows(
        ("Table",), [("account",), ("accountingcode",)], spec, tmp_path / "t", entry_name="j"
    )
    lines = gzip.decompress(written.path.read_bytes()).decode().splitlines()
    assert lines == ['{"Table":"account"}', '{"Table":"accountingcode"}']
    assert json.loads(lines[0]) == {"Table": "account"}


def test_describe_as_zipped_dsv_and_encrypted_tsv(tmp_path: Path) -> None:
    spec = output.OutputSpec(F.DSV, C.ZIP, column_separator="(")
    written = output.write_rows(DESCRIBE, ROWS, spec, tmp_path / "z", entry_name="job")
    with zipfile.ZipFile(written.path) as archive:
        assert archive.namelist() == ["job.dsv"]
        assert (
            archive.read("job.dsv").decode().splitlines()[2] == 'balance("decimal(18,6)"((Balance'
        )
    private, der = _rsa_der()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    secret = output.OutputSpec(F.TSV, encryption_key=base64.b64encode(der).decode())
    written = output.write_rows(DESCRIBE, ROWS, secret, tmp_path / "e", entry_name="job")
    assert written.content_type == "application/octet-stream"
    assert output.decrypt_file(written.path, pem).decode().splitlines()[1] == (
        "accountnumber\tvarchar\t\tAccountNumber"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e", "z"]


def test_an_empty_metadata_answer_is_a_header_or_nothing(tmp_path: Path) -> None:
    csv_file = output.write_rows(
        DESCRIBE, [], output.OutputSpec(F.CSV), tmp_path / "c", entry_name="j"
    )
    json_file = output.write_rows(
        DESCRIBE, [], output.OutputSpec(F.JSON), tmp_path / "j", entry_name="j"
    )
    assert csv_file.path.read_text() == "Column,Type,Extra,Comment\n"
    assert json_file.path.read_bytes() == b""
    assert json_file.record_count == csv_file.record_count == 0


# Rendering helpers ------------------------------------------------------------------------


def test_zone_offsets_list_each_offset_a_zone_uses() -> None:
    assert {-25200, -28800} <= set(row_text.zone_offsets("America/Los_Angeles"))
    assert 19800 in row_text.zone_offsets("Asia/Kolkata")
    assert row_text.zone_offsets("UTC") == (0,)
    assert row_text.zone_offsets("Not/AZone") == ()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-25200, "-07:00"), (0, "+00:00"), (19800, "+05:30"), (-9000, "-02:30"), (20700, "+05:45")],
)
def test_offset_text_has_hours_and_minutes(seconds: int, text: str) -> None:
    assert row_text.offset_text(seconds) == text


def test_duckdb_types_map_to_kinds() -> None:
    column = row_text.duckdb_column
    assert column("a", "DECIMAL(18,4)") == row_text.Column("a", row_text.Kind.DECIMAL, 4, 18)
    assert column("a", "TIMESTAMP WITH TIME ZONE").kind is row_text.Kind.TIMESTAMPTZ
    assert column("a", "INTEGER[]").kind is row_text.Kind.NESTED
    assert column("a", "STRUCT(x INTEGER)").kind is row_text.Kind.NESTED
    assert column("a", "HUGEINT").kind is row_text.Kind.INTEGER
    assert column("a", "INTERVAL").kind is row_text.Kind.OTHER


def test_repeated_labels_get_numbered_suffixes() -> None:
    assert row_text.unique_labels(["x", "x", "x_1", "x", "y"]) == ["x", "x_1", "x_1_1", "x_2", "y"]


def test_postgres_control_escapes_take_duckdbs_letter_case() -> None:
    from aquarium.engines import postgres_engine

    line = b'{"s":"\\u0001\\u001f\\u000b","t":"\\\\u001f","u":"\\\\\\u001e"}'
    assert postgres_engine.upper_case_escapes(line) == (
        b'{"s":"\\u0001\\u001F\\u000B","t":"\\\\u001f","u":"\\\\\\u001E"}'
    )
