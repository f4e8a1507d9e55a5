"""`archiver extract` and the WARC → article pipeline: hand-made WARCs (good and
deliberately broken), a real capture of the sample site, and every output format."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcassert import sha256_label

from archiver.cli import cli
from archiver.extract.reader import Extracted, ExtractFailure, extract_warcs
from archiver.root import ArchiveRoot

ARTICLE = "".join(
    f"<p>Paragraph {i}: police in the county detained hundreds of traders, sources said, "
    f"and froze their accounts pending investigation.</p>" for i in range(6))
PAGE = (f"<html><head><title>Raids in Ili</title></head><body><nav><a href='/'>Home</a>"
        f"<a href='/news'>News</a></nav><article>{ARTICLE}</article>"
        f"<footer>Copyright footer</footer></body></html>").encode()
DATE = "2024-05-01T10:00:00Z"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunked(body: bytes, size: int = 100) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
             for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


class Warc:
    """A WARC/1.1 file written by hand, one gzip member per record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        self.offsets: dict[str, int] = {}

    def record(self, rec_type: str, uri: str, block: bytes, extra: dict[str, str] | None = None,
               content_type: str = "application/http; msgtype=response") -> str:
        rid = f"<urn:uuid:{uuid.uuid4()}>"
        fields = {"WARC-Type": rec_type, "WARC-Record-ID": rid, "WARC-Date": DATE,
                  "WARC-Target-URI": uri, "Content-Type": content_type, **(extra or {}),
                  "Content-Length": str(len(block))}
        head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.offsets[rid] = self.path.stat().st_size
        with self.path.open("ab") as fh:
            fh.write(gzip.compress(head.encode() + block + b"\r\n\r\n"))
        return rid

    def response(self, uri: str, body: bytes, *, status: str = "200 OK",
                 ctype: str = "text/html; charset=utf-8", coding: str | None = None,
                 chunked: bool = False, digest: str | None = None) -> str:
        payload = _chunked(body) if chunked else body
        headers = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}"]
        headers += [f"Content-Encoding: {coding}"] if coding else []
        headers += ["Transfer-Encoding: chunked"] if chunked else [f"Content-Length: {len(body)}"]
        block = ("\r\n".join(headers) + "\r\n\r\n").encode() + payload
        return self.record("response", uri, block,
                           {"WARC-Payload-Digest": digest or sha256_label(body)})

    def revisit(self, uri: str, original: str, original_uri: str) -> str:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        return self.record("revisit", uri, head, {
            "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
            "WARC-Refers-To": original, "WARC-Refers-To-Target-URI": original_uri,
            "WARC-Refers-To-Date": DATE, "WARC-Payload-Digest": sha256_label(PAGE)})


@pytest.fixture
def root(tmp_path: Path) -> ArchiveRoot:
    root = ArchiveRoot(tmp_path / "archive")
    root.ensure()
    return root


def _run(root: ArchiveRoot, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["--root", str(root.path), "extract", *args])
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.strip()]
    return result.exit_code, lines, result.stderr


def test_gzip_chunked_response_with_full_provenance(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "2024/05/01/a.warc.gz")
    warc.record("warcinfo", "", b"software: test\r\n", content_type="application/warc-fields")
    rid = warc.response("http://example.org/a", gzip.compress(PAGE, mtime=0), coding="gzip",
                        chunked=True)
    code, out, err = _run(root)
    assert code == 0, err
    (item,) = out
    assert item["title"] == "Raids in Ili"
    assert "Paragraph 5: police" in str(item["text"]) and "Copyright" not in str(item["text"])
    prov = item["provenance"]
    assert isinstance(prov, dict)
    assert prov["warc_file"] == "warcs/2024/05/01/a.warc.gz"
    assert prov["record_id"] == rid and prov["offset"] == warc.offsets[rid]
    assert prov["target_uri"] == "http://example.org/a" and prov["capture_date"] == DATE
    assert prov["payload_sha256"] == _sha(gzip.compress(PAGE, mtime=0))
    assert prov["text_sha256"] == _sha(str(item["text"]).encode())


def _br(data: bytes) -> bytes:
    brotli = pytest.importorskip("brotli", reason="needs the brotli extra")
    return bytes(brotli.compress(data))


def _gzip_then_br(data: bytes) -> bytes:
    return _br(gzip.compress(data))


@pytest.mark.parametrize("coding,encode", [
    ("deflate", zlib.compress), ("br", _br), ("gzip, br", _gzip_then_br)])
def test_content_encodings(
    root: ArchiveRoot, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    Warc(root.warcs / "a.warc.gz").response("http://e.org/", encode(PAGE), coding=coding)
    code, out, err = _run(root)
    assert code == 0, err
    assert "Paragraph 0" in str(out[0]["text"])


def test_only_html_200_responses_are_extracted(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "a.warc.gz")
    warc.record("request", "http://e.org/", b"GET / HTTP/1.1\r\n\r\n",
                content_type="application/http; msgtype=request")
    warc.response("http://e.org/404", PAGE, status="404 Not Found")
    warc.response("http://e.org/x.png", b"\x89PNG...", ctype="image/png")
    warc.response("http://e.org/moved", b"", status="301 Moved Permanently")
    warc.record("metadata", "http://e.org/", b"outcome: ok\r\n",
                content_type="application/warc-fields")
    ok = warc.response("http://e.org/ok", PAGE, ctype="application/xhtml+xml")
    code, out, _ = _run(root)
    assert code == 0
    assert [o["provenance"]["record_id"] for o in out] == [ok]  # type: ignore[index]


def test_revisit_is_resolved_to_its_original(root: ArchiveRoot) -> None:
    first = Warc(root.warcs / "2024/a.warc.gz")
    original = first.response("http://e.org/a", PAGE)
    second = Warc(root.warcs / "2024/b.warc.gz")
    rev = second.revisit("http://e.org/a", original, "http://e.org/a")
    code, out, err = _run(root, "--all-captures")
    assert code == 0, err
    assert len(out) == 2 and out[0]["text"] == out[1]["text"]
    prov = out[1]["provenance"]
    assert isinstance(prov, dict)
    assert prov["record_id"] == rev and prov["refers_to"] == original
    assert prov["warc_file"] == "warcs/2024/b.warc.gz"
    assert prov["original_warc_file"] == "warcs/2024/a.warc.gz"
    assert prov["original_offset"] == first.offsets[original]
    assert prov["payload_sha256"] == _sha(PAGE)


def test_revisit_met_before_its_original_is_resolved_at_the_end(root: ArchiveRoot) -> None:
    later = Warc(root.warcs / "a.warc.gz")
    holder = Warc(root.warcs / "b.warc.gz")
    original = holder.response("http://e.org/a", PAGE)
    later.revisit("http://e.org/a", original, "http://e.org/a")
    code, out, _ = _run(root, "--all-captures")
    assert code == 0 and len(out) == 2
    code, out, _ = _run(root)
    assert code == 0 and len(out) == 1  # the same page: once


def test_each_distinct_payload_of_a_url_is_given_once(root: ArchiveRoot) -> None:
    changed = PAGE.replace(b"Paragraph 5", b"Paragraph five")
    first = Warc(root.warcs / "a.warc.gz")
    original = first.response("http://e.org/a", PAGE)
    again = first.response("http://e.org/a", PAGE)  # recaptured, dedup off at capture
    first.revisit("http://e.org/a", original, "http://e.org/a")
    second = Warc(root.warcs / "b.warc.gz")
    second.revisit("http://e.org/a", original, "http://e.org/a")
    edited = second.response("http://e.org/a", changed)  # the page changed: a new article
    other = second.revisit("http://e.org/b", original, "http://e.org/a")  # same bytes, new URL
    result = CliRunner().invoke(cli, ["--root", str(root.path), "extract"])
    assert result.exit_code == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(o["provenance"]["target_uri"], o["provenance"]["record_id"]) for o in out] == [
        ("http://e.org/a", original), ("http://e.org/a", edited), ("http://e.org/b", other)]
    assert "3 unchanged recapture(s) left out" in result.stderr
    code, every, _ = _run(root, "--all-captures")
    assert code == 0
    assert [o["provenance"]["record_id"] for o in every][:2] == [original, again]
    assert len(every) == 6


def test_bad_records_are_reported_and_the_run_goes_on(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "a.warc.gz")
    bad = warc.response("http://e.org/bad", b"not gzip at all", coding="gzip")
    bomb = gzip.compress(b"<p>" + b"a" * (40 << 20))
    boom = warc.response("http://e.org/bomb", bomb, coding="gzip")
    lie = warc.response("http://e.org/lie", PAGE, digest=sha256_label(b"something else"))
    orphan = warc.revisit("http://e.org/gone", "<urn:uuid:nowhere>", "http://e.org/gone")
    good = warc.response("http://e.org/good", PAGE)
    code, out, err = _run(root)
    assert code == 1
    assert [o["provenance"]["record_id"] for o in out] == [good]  # type: ignore[index]
    for rid, words in [(bad, "cannot decode gzip"), (boom, "decompression bomb"),
                       (lie, "WARC-Payload-Digest"), (orphan, "original record")]:
        line = f"warcs/a.warc.gz at offset {warc.offsets[rid]}:"
        assert any(line in x and words in x for x in err.splitlines()), (words, err)


def test_damaged_warc_file_is_reported_and_others_still_read(root: ArchiveRoot) -> None:
    Warc(root.warcs / "a.warc.gz").response("http://e.org/a", PAGE)
    broken = root.warcs / "b.warc.gz"
    broken.write_bytes(gzip.compress(b"this is no WARC record\r\n\r\n" * 3))
    Warc(root.warcs / "c.warc.gz").response("http://e.org/c", PAGE)
    code, out, err = _run(root)
    assert code == 1 and len(out) == 2
    assert "warcs/b.warc.gz" in err


def test_open_warcs_are_skipped(root: ArchiveRoot) -> None:
    Warc(root.warcs / "a.warc.gz.open").response("http://e.org/a", PAGE)
    Warc(root.warcs / "b.warc.gz").response("http://e.org/b", PAGE)
    code, out, _ = _run(root)
    assert code == 0
    assert [o["provenance"]["target_uri"] for o in out] == ["http://e.org/b"]


def test_no_warcs_is_said_on_one_line_with_exit_2(root: ArchiveRoot, tmp_path: Path) -> None:
    Warc(root.warcs / "a.warc.gz.open").response("http://e.org/a", PAGE)  # being written
    code, out, err = _run(root)
    assert (code, out) == (2, [])
    assert err == (f"archiver: error: {root.warcs}: no WARC files (*.warc.gz, *.warc) in this "
                   "folder; capture pages first (archiver capture URL), or give WARC files or "
                   "a folder that holds some\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = _run(root, str(empty))
    assert (code, out) == (2, []) and err.startswith(f"archiver: error: {empty}: no WARC files")
    assert len(err.splitlines()) == 1


def test_folders_given_are_searched_for_warcs(root: ArchiveRoot, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    Warc(elsewhere / "2024" / "b.warc.gz").response("http://e.org/b", PAGE)
    Warc(elsewhere / "a.warc").response("http://e.org/a", PAGE)
    single = Warc(tmp_path / "c.warc.gz")
    single.response("http://e.org/c", PAGE)
    code, out, err = _run(root, str(single.path), str(elsewhere))
    assert code == 0, err
    assert [o["provenance"]["warc_file"] for o in out] == [
        single.path.as_posix(), (elsewhere / "2024/b.warc.gz").as_posix(),
        (elsewhere / "a.warc").as_posix()]


def test_given_warc_files_and_output_file(root: ArchiveRoot, tmp_path: Path) -> None:
    outside = Warc(tmp_path / "elsewhere" / "x.warc.gz")
    outside.response("http://e.org/x", PAGE)
    target = tmp_path / "out.jsonl"
    code, out, _ = _run(root, str(outside.path), "-o", str(target))
    assert code == 0 and out == []
    (line,) = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["provenance"]["warc_file"] == outside.path.as_posix()


@pytest.mark.parametrize("fmt,marker", [("text", "Raids in Ili\nURL: http://e.org/a"),
                                        ("markdown", "# Raids in Ili")])
def test_text_and_markdown_formats(root: ArchiveRoot, fmt: str, marker: str) -> None:
    Warc(root.warcs / "a.warc.gz").response("http://e.org/a", PAGE)
    result = CliRunner().invoke(cli, ["--root", str(root.path), "extract", "--format", fmt])
    assert result.exit_code == 0
    assert marker in result.stdout and "Paragraph 3: police" in result.stdout
    assert re.search(r"\bKind: (?:article|listing|other)\b", result.stdout)


def test_html_file(tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    page.write_bytes(PAGE.replace(b"<head>", b"<head><link rel=canonical href='/c/1'>"))
    result = CliRunner().invoke(cli, ["extract", "--html", str(page), "--url", "http://e.org/a"])
    assert result.exit_code == 0, result.stderr
    item = json.loads(result.stdout)
    assert item["url"] == "http://e.org/c/1"
    assert item["provenance"]["html_file"] == page.as_posix()
    assert item["provenance"]["payload_sha256"] == _sha(page.read_bytes())


def test_html_file_that_is_not_html_fails(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_bytes(b"")
    result = CliRunner().invoke(cli, ["extract", "--html", str(page)])
    assert result.exit_code == 1 and "empty document" in result.stderr


def test_usage_errors(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_bytes(PAGE)
    both = CliRunner().invoke(cli, ["extract", "--html", str(page), str(page)])
    assert both.exit_code == 2
    url_alone = CliRunner().invoke(cli, ["--root", str(tmp_path), "extract", "--url", "http://x"])
    assert url_alone.exit_code == 2


def test_library_yields_problems_in_order(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "a.warc.gz")
    warc.response("http://e.org/bad", b"garbage", coding="gzip")
    warc.response("http://e.org/good", PAGE)
    items = list(extract_warcs([warc.path], root=root))
    assert [type(i) for i in items] == [ExtractFailure, Extracted]


def test_capture_of_the_sample_site_then_extract(root: ArchiveRoot) -> None:
    """Real WARCs from archiver.capture.run (chunked+gzip, GBK, revisits on the second run)."""
    from archiver.capture.run import capture_urls
    from archiver.capture.settings import CaptureSettings
    from archiver.demo import DemoSite, load_site

    settings = CaptureSettings(delay=0.0, retries=0, concurrency=2)
    pages = [p for p in load_site() if p.article is not None]
    with DemoSite() as site:
        urls = [site.url(p.path) for p in pages]
        capture_urls(root, urls, settings)
        capture_urls(root, urls, settings)
    code, out, err = _run(root, "--all-captures")
    assert code == 0, err
    by_uri: dict[str, list[dict[str, object]]] = {}
    for item in out:
        by_uri.setdefault(str(item["provenance"]["target_uri"]), []).append(item)  # type: ignore[index]
    for page, url in zip(pages, urls, strict=True):
        assert page.article is not None
        found = by_uri[url]
        assert len(found) == 2, f"{url}: expected a response and a revisit"
        assert any("refers_to" in f["provenance"] for f in found)  # type: ignore[operator]
        text = " ".join(str(found[0]["text"]).split())
        for paragraph in page.article["expected_paragraphs"]:
            assert " ".join(paragraph.split()) in text
        assert found[0]["text"] == found[1]["text"]
    code, once, err = _run(root)  # by default: one article per page
    assert code == 0, err
    assert sorted(str(o["provenance"]["target_uri"]) for o in once) == sorted(urls)  # type: ignore[index]
    assert all("refers_to" not in o["provenance"] for o in once)  # type: ignore[operator]


def test_output_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    # A latin-1 (or ASCII) terminal must not make Chinese text fail to print:
    # the output is UTF-8 data for other tools.
    zh = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。"
    page = tmp_path / "zh.html"
    page.write_text(f"<html><body><p>{zh * 3}</p><p>{zh * 3}</p></body></html>", "utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "LC_ALL": "C"}
    done = subprocess.run([sys.executable, "-m", "archiver", "extract", "--html", str(page)],
                          capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.decode("utf-8").splitlines()
    assert json.loads(line)["text"].startswith(zh)


def test_every_page_is_given_but_only_articles_count_as_extracted(root: ArchiveRoot) -> None:
    listing = PAGE.replace(b"<head>", b'<head><script type="application/ld+json">'
                           b'{"@type": "CollectionPage"}</script>')
    empty = b"<html><head><title>Nothing here</title></head><body><div></div></body></html>"
    warc = Warc(root.warcs / "a.warc.gz")
    warc.response("http://e.org/news/2024/raids-in-ili", PAGE)
    warc.response("http://e.org/news/", listing)
    warc.response("http://e.org/blank", empty)
    result = CliRunner().invoke(cli, ["--root", str(root.path), "extract"])
    assert result.exit_code == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(o["kind"], bool(o["text"])) for o in out] == [
        ("article", True), ("listing", True), ("other", False)]
    assert result.stderr == ("extracted 1 article(s) (and 1 listing, 1 other page(s)), "
                             "0 problem(s)\n")


SHELL = (b"<html><head><title>Loading</title></head><body><main>Loading&hellip;</main>"
         b"<script src='/app.js'></script></body></html>")


def _with_dom(warc: Warc, uri: str, html: bytes, dom: bytes, *,
              block_digest: str | None = None) -> tuple[str, str]:
    rid = warc.response(uri, html)
    warc.record("resource", "urn:screenshot:" + uri, b"\x89PNG not really",
                {"WARC-Concurrent-To": rid}, content_type="image/png")
    dom_id = warc.record("resource", "urn:dom:" + uri, dom,
                         {"WARC-Concurrent-To": rid,
                          "WARC-Block-Digest": block_digest or sha256_label(dom)},
                         content_type="text/html; charset=utf-8")
    warc.record("metadata", uri, b"software: test\r\n", {"WARC-Concurrent-To": rid},
                content_type="application/warc-fields")
    return rid, dom_id


def test_a_javascript_page_is_extracted_from_its_rendered_dom(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "2024/05/01/b.warc.gz")
    warc.record("warcinfo", "", b"software: test\r\n", content_type="application/warc-fields")
    rid, dom_id = _with_dom(warc, "http://example.org/js", SHELL, PAGE)
    # A page with its article in its HTML keeps it, DOM or not; one without a
    # DOM record is given as it is.
    own, _ = _with_dom(warc, "http://example.org/static", PAGE, SHELL)
    bare = warc.response("http://example.org/bare", SHELL)
    code, out, err = _run(root, "--all-captures")
    assert code == 0, err
    by_uri = {str(i["provenance"]["target_uri"]): i for i in out}  # type: ignore[index]
    js = by_uri["http://example.org/js"]
    assert "Paragraph 5: police" in str(js["text"]) and js["title"] == "Raids in Ili"
    prov = js["provenance"]
    assert isinstance(prov, dict)
    assert prov["record_id"] == rid and prov["dom_record_id"] == dom_id
    assert prov["dom_offset"] == warc.offsets[dom_id]
    assert prov["payload_sha256"] == _sha(SHELL)  # the response's, as captured
    assert prov["text_sha256"] == _sha(str(js["text"]).encode())
    static = by_uri["http://example.org/static"]
    assert "Paragraph 5" in str(static["text"])
    assert static["provenance"]["record_id"] == own  # type: ignore[index]
    assert "dom_record_id" not in static["provenance"]  # type: ignore[operator]
    assert by_uri["http://example.org/bare"]["provenance"]["record_id"] == bare  # type: ignore[index]
    assert [i["provenance"]["target_uri"] for i in out] == [  # type: ignore[index]
        "http://example.org/js", "http://example.org/static", "http://example.org/bare"]


def test_a_damaged_rendered_dom_is_reported_not_used(root: ArchiveRoot) -> None:
    warc = Warc(root.warcs / "2024/05/01/c.warc.gz")
    warc.record("warcinfo", "", b"software: test\r\n", content_type="application/warc-fields")
    _, dom_id = _with_dom(warc, "http://example.org/js", SHELL, PAGE,
                          block_digest=sha256_label(b"something else"))
    items = list(extract_warcs([warc.path], root=root))
    failures = [i for i in items if isinstance(i, ExtractFailure)]
    assert [f.offset for f in failures] == [warc.offsets[dom_id]]
    assert "does not match WARC-Block-Digest" in failures[0].message
    (page,) = [i for i in items if isinstance(i, Extracted)]
    assert "Paragraph" not in page.article.text and page.provenance.dom_record_id is None
