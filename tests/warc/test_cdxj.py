"""The CDXJ index (archiver.warc.cdxj): kept by capture and import, rebuilt by ``archiver cdxj``.

Each line is checked against the WARC itself: the record at its offset, read
back with warcio, has the line's URL, date, status and payload digest, and
its gzip member is exactly ``length`` bytes. The SURT keys are checked
against the ``surt`` package pywb uses (with the replay extra); pywb reading
the index is tested in tests/interop/test_replay.py.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fixity_archive import FAST, copy_archive
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from archiver.capture.run import capture_urls
from archiver.demo import DemoSite
from archiver.root import ArchiveRoot
from archiver.warc.cdxj import CDXJ_NAME, read_cdxj, surt, timestamp14

REPLAY_EXTRA = "needs the replay extra: pip install 'archiver[replay]'"

URLS = [
    "http://www.Example.com/Foo/Bar?b=2&a=1",
    "https://example.com:443/",
    "https://example.com:8443/x",
    "http://127.0.0.1:8080/a/b.html?x=Y",
    "http://example.com",
    "http://user:pw@www2.example.co.uk/x#frag",
    "http://example.com/a%20b?",
    "http://xn--fiqs8s.cn/%E4%B8%AD",
    "http://example.com/?jsessionid=123&a=1",
    "http://EXAMPLE.com./x",
    "http://example.com/%7Euser",
    "http://example.com/a//b/../c",
    "http://example.com/a/./b/",
    "http://example.com/a/b/",
    "http://example.com//a",
    "http://www.rfa.org/english/news/uyghur/kazakhs-11132017.html",
    "https://www.chinaaid.org/2018/09/mass-arrests-in-xinjiang-continue.html?m=1",
    "http://127.0.0.1:38381/story/xinjiang-kazakhs",
]


def test_surt_keys_by_the_rules() -> None:
    assert surt("http://www.Example.com/Foo/Bar?b=2&a=1") == "com,example)/foo/bar?a=1&b=2"
    assert surt("https://example.com:443/") == "com,example)/"
    assert surt("http://127.0.0.1:8080/a?") == "1,0,0,127:8080)/a"
    assert surt("http://user:pw@www2.example.co.uk/x#frag") == "uk,co,example)/x"
    assert surt("http://example.com/a//b/../c") == "com,example)/a/c"


@pytest.mark.parametrize("url", URLS)
def test_surt_keys_are_pywbs(url: str) -> None:
    surt_pkg = pytest.importorskip("surt", reason=REPLAY_EXTRA)
    assert surt(url) == surt_pkg.surt(url)


_HOSTS = ["example.com", "www.example.com", "WWW.Ex.org", "127.0.0.1", "www3.bbc.co.uk",
          "xn--fiqs8s.cn", "ex.com:8080", "ex.com:80", "ex.com:443", "user:pw@www.ex.com",
          "ex.com.", "中国.cn"]
_SEGMENTS = ["a", "B", "%7E", "%41", "..", ".", "", "index.html", "a b", "%2F", "~x",
             "%E4%B8%AD", "a;b=c", "@", ":", "中", "%25", "%2541", "x.aspx",
             "(0123456789abcdefghijklmn)"]
_QUERIES = ["", "a=1", "b=2&a=1", "A=B", "x", "a=1&&b=2", "q=%20", "=", "a=%26", "中=文", "&",
            "jsessionid=0123456789abcdef0123456789ABCDEF&z=1"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["http", "https", "HTTP"]), st.sampled_from(_HOSTS),
       st.lists(st.sampled_from(_SEGMENTS), max_size=5), st.sampled_from(_QUERIES),
       st.sampled_from(["", "?", "#f", "?#f"]))
def test_surt_keys_are_pywbs_for_odd_urls(scheme: str, host: str, segments: list[str],
                                          query: str, tail: str) -> None:
    surt_pkg = pytest.importorskip("surt", reason=REPLAY_EXTRA)
    url = f"{scheme}://{host}/" + "/".join(segments) + (f"?{query}" if query else tail)
    assert surt(url) == surt_pkg.surt(url), url


def test_timestamp14() -> None:
    assert timestamp14("2026-11-24T15:00:01.123456Z") == "20261124150001"
    assert timestamp14("2026-11-24T15:00:01Z") == "20261124150001"


def _check_index(root: ArchiveRoot) -> list[str]:
    """Every line of the index against the WARC record it points at; returns the lines."""
    path = root.manifests / CDXJ_NAME
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines)), "the index is sorted, without duplicates"
    for entry in read_cdxj(path):
        fields = entry.fields
        offset, length = int(fields["offset"]), int(fields["length"])
        with (root.path / fields["filename"]).open("rb") as fh:
            fh.seek(offset)
            member = fh.read(length)
        # exactly one whole gzip member
        assert gzip.decompress(member)
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        headers = record.rec_headers
        assert fields["url"] == headers.get_header("WARC-Target-URI")
        assert entry.key == surt(fields["url"])
        assert entry.timestamp == timestamp14(headers.get_header("WARC-Date"))
        assert fields["digest"] == headers.get_header("WARC-Payload-Digest")
        assert fields["status"] == record.http_headers.get_statuscode()
        if record.rec_type == "revisit":
            assert fields["mime"] == "warc/revisit"
        else:
            assert record.rec_type == "response"
            ctype = record.http_headers.get_header("Content-Type") or "unk"
            assert fields["mime"] == ctype.split(";")[0].strip().lower()
    return lines


def _responses(root: ArchiveRoot) -> set[tuple[str, int]]:
    """(file, offset) of every response and revisit record, read by warcio."""
    found = set()
    for warc in sorted(root.warcs.rglob("*.warc.gz")):
        with warc.open("rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                if record.rec_type in ("response", "revisit"):
                    found.add((root.relative(warc), it.get_record_offset()))
    return found


def _indexed(root: ArchiveRoot) -> set[tuple[str, int]]:
    return {(e.fields["filename"], int(e.fields["offset"]))
            for e in read_cdxj(root.manifests / CDXJ_NAME)}


def test_capture_keeps_the_index(root: ArchiveRoot) -> None:
    """The pristine archive (two capture runs, revisits in the second) is fully indexed."""
    lines = _check_index(root)
    assert _indexed(root) == _responses(root)
    assert any('"warc/revisit"' in line for line in lines)
    assert not (root.manifests / (CDXJ_NAME + ".open")).exists()


def test_archiver_cdxj_rebuilds_the_same_index(root: ArchiveRoot) -> None:
    index = root.manifests / CDXJ_NAME
    before = index.read_bytes()
    index.unlink()
    out = subprocess.run([sys.executable, "-m", "archiver", "--root", str(root.path), "cdxj"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert index.read_bytes() == before
    assert f"{len(before.splitlines())} records indexed" in out.stderr


def test_a_killed_runs_journal_makes_the_next_run_rebuild(root: ArchiveRoot,
                                                          demo_site: DemoSite) -> None:
    index = root.manifests / CDXJ_NAME
    # A run killed after committing records: its lines were only in the journal.
    index.write_text(index.read_text().splitlines()[0] + "\n")
    (root.manifests / (CDXJ_NAME + ".open")).write_text("")
    capture_urls(root, demo_site.seed_urls()[:1], FAST)
    _check_index(root)
    assert _indexed(root) == _responses(root)


def test_import_adds_its_files_to_the_index(root: ArchiveRoot, tmp_path: Path) -> None:
    other = copy_archive(root.path, tmp_path / "other")
    source = sorted(other.warcs.rglob("*.warc.gz"))[0]
    fresh = ArchiveRoot(tmp_path / "fresh")
    out = subprocess.run([sys.executable, "-m", "archiver", "--root", str(fresh.path),
                          "import", str(source)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = _check_index(fresh)
    assert lines and all(json.loads(line.split(" ", 2)[2])["filename"].startswith(
        "warcs/imported/") for line in lines)
    assert _indexed(fresh) == _responses(fresh)
