"""The local file store and the name rules, without HTTP or a database."""

from __future__ import annotations

import hashlib
import io

import pytest

from clientcard.attachments.service import sanitize_name
from clientcard.attachments.storage import FileStore, FileTooLarge, LocalFileStore, MissingFile


def test_put_is_content_addressed_and_idempotent(tmp_path):
    store = LocalFileStore(tmp_path)
    assert isinstance(store, FileStore)
    data = b"hello" * 50_000
    digest = hashlib.sha256(data).hexdigest()
    assert store.put(io.BytesIO(data)) == (digest, len(data))
    assert store.put(io.BytesIO(data)) == (digest, len(data))
    assert store.path_of(digest) == tmp_path.resolve() / digest[:2] / digest[2:4] / digest
    assert store.exists(digest)
    with store.open(digest) as stream:
        assert stream.read() == data
    assert store.temporary_files() == []
    store.delete(digest)
    store.delete(digest)  # missing bytes are no error
    assert not store.exists(digest)
    with pytest.raises(MissingFile):
        store.open(digest)


def test_put_over_the_limit_keeps_nothing(tmp_path):
    store = LocalFileStore(tmp_path)
    with pytest.raises(FileTooLarge):
        store.put(io.BytesIO(b"x" * 200_001), max_bytes=200_000)
    assert [p for p in tmp_path.rglob("*")] == []


def test_a_stream_failing_midway_leaves_no_partial_file(tmp_path):
    store = LocalFileStore(tmp_path)

    class Broken(io.RawIOBase):
        calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionError("client went away")
            return b"y" * 1000

    with pytest.raises(ConnectionError):
        store.put(Broken())  # type: ignore[arg-type]
    assert [p for p in tmp_path.rglob("*")] == []


def test_hashes_are_checked_before_they_become_paths(tmp_path):
    store = LocalFileStore(tmp_path)
    for bad in ("../../etc/passwd", "AB" * 32, "a" * 63):
        with pytest.raises(ValueError):
            store.exists(bad)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Desktop\\faktura.pdf", "faktura.pdf"),
        ("  spaced   out .txt ", "spaced out.txt"),
        ("..hidden", "hidden"),
        ("bell\x07\x00.txt", "bell.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ('a<b>c:"d"|e?f*.csv', "a_b_c__d__e_f_.csv"),
        ("con.txt", "_con.txt"),
        ("", "file"),
        (None, "file"),
        ("/", "file"),
        ("ok.", "ok"),
        ("Zażółć gęślą jaźń.docx", "Zażółć gęślą jaźń.docx"),
    ],
)
def test_names_are_sanitized(given, expected):
    assert sanitize_name(given) == expected


def test_long_names_keep_their_extension_and_a_safe_length():
    name = sanitize_name("ą" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= 255 and len(name) <= 200
    assert sanitize_name("a" * 500) == "a" * 200
