"""``archiver export wacz``: WACZ 1.1.1, checked part by part and by the real tools.

``wacz validate`` (py-wacz) passes, but it checks little (it passes a WACZ
with no pages and no digest file), so each part is checked here too: WARCs
stored uncompressed and byte-identical to the manifest's files; every index
line pointing at its record inside archive/; pages from the catalog's seeds
with the titles ``archiver extract`` finds; datapackage.json hashing every
file; datapackage-digest.json hashing it. Then pywb opens the WACZ
(``wb-manager add --unpack-wacz``) and serves a page from it, equal to the
captured payload.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixity_archive import copy_archive
from warcassert import dechunk, is_chunked, read_warc
from warcio.archiveiterator import ArchiveIterator

from archiver.interop.replay import free_port
from archiver.root import ArchiveRoot
from archiver.warc.cdxj import surt

REPLAY_EXTRA = "needs the replay extra: pip install 'archiver[replay]'"
pytest.importorskip("pywb", reason=REPLAY_EXTRA)
pytest.importorskip("wacz", reason=REPLAY_EXTRA)


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def archive(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> ArchiveRoot:
    return copy_archive(pristine, tmp_path_factory.mktemp("wacz") / "archive")


@pytest.fixture(scope="module")
def wacz(archive: ArchiveRoot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wacz-out") / "archive.wacz"
    out = archiver(archive.path, "export", "wacz", str(dest))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"wacz: {dest} (2 WARCs, ")
    return dest


def _manifest(root: ArchiveRoot) -> dict[str, str]:
    lines = (root.manifests / "manifest-sha256.txt").read_text().splitlines()
    return {path: sha for sha, _, path in (line.partition("  ") for line in lines)}


def test_wacz_validate_passes(wacz: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "from wacz.main import main; main()",
                          "validate", "-f", str(wacz)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is valid" in out.stdout


def test_warcs_are_stored_whole_and_match_the_manifest(archive: ArchiveRoot, wacz: Path) -> None:
    manifest = _manifest(archive)
    with zipfile.ZipFile(wacz) as zf:
        warcs = [i for i in zf.infolist() if i.filename.startswith("archive/")]
        assert sorted(i.filename.rsplit("/", 1)[1] for i in warcs) == sorted(
            p.rsplit("/", 1)[1] for p in manifest)
        for info in warcs:
            assert info.compress_type == zipfile.ZIP_STORED
            (rel,) = [p for p in manifest if p.endswith("/" + info.filename[len("archive/"):])]
            data = zf.read(info)
            assert data == (archive.path / rel).read_bytes()
            assert hashlib.sha256(data).hexdigest() == manifest[rel]


def test_the_index_points_at_each_record(archive: ArchiveRoot, wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        lines = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode().splitlines()
        assert lines == sorted(lines) and len(lines) > 10
        responses = 0
        for line in lines:
            key, stamp, data = line.split(" ", 2)
            fields = json.loads(data)
            assert "/" not in fields["filename"]  # relative to archive/
            warc = zf.read(f"archive/{fields['filename']}")
            start, length = int(fields["offset"]), int(fields["length"])
            record = next(iter(ArchiveIterator(io.BytesIO(warc[start:start + length]))))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
            assert key == surt(fields["url"]) and len(stamp) == 14
            responses += record.rec_type == "response"
        assert responses > 5


def test_pages_are_the_seeds_with_their_titles(archive: ArchiveRoot, wacz: Path) -> None:
    listed = archiver(archive.path, "list", "--json")
    seeds = [json.loads(x) for x in listed.stdout.splitlines()]
    good = [c for c in seeds if c["outcome"] in ("captured", "revisit")]
    extracted = archiver(archive.path, "extract")
    titles = {a["provenance"]["target_uri"]: a["title"]
              for a in map(json.loads, extracted.stdout.splitlines())}
    with zipfile.ZipFile(wacz) as zf:
        header, *pages = [json.loads(x) for x in zf.read("pages/pages.jsonl").splitlines()]
    assert header == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    assert sorted((p["url"], p["ts"]) for p in pages) == sorted(
        (c["url"], c["captured_at"]) for c in good)
    assert len({p["id"] for p in pages}) == len(pages)
    for page in pages:
        final = next(c["final_url"] for c in good if c["url"] == page["url"])
        assert page.get("title") == titles.get(final), page
    assert sum("title" in p for p in pages) >= 5


def test_datapackage_hashes_every_file(wacz: Path) -> None:
    with zipfile.ZipFile(wacz) as zf:
        names = sorted(zf.namelist())
        package_bytes = zf.read("datapackage.json")
        package = json.loads(package_bytes)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        resources = {r["path"]: r for r in package["resources"]}
        assert sorted(resources) == [n for n in names if not n.startswith("datapackage")]
        for path, res in resources.items():
            data = zf.read(path)
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert res["bytes"] == len(data)
    assert digest["path"] == "datapackage.json"
    assert digest["hash"] == "sha256:" + hashlib.sha256(package_bytes).hexdigest()


def test_export_refuses_an_existing_dest_and_a_damaged_warc(archive: ArchiveRoot, wacz: Path,
                                                            tmp_path: Path) -> None:
    out = archiver(archive.path, "export", "wacz", str(wacz))
    assert out.returncode == 2 and "already exists" in out.stderr
    damaged = copy_archive(archive.path, tmp_path / "damaged")
    warc = sorted(damaged.warcs.rglob("*.warc.gz"))[0]
    data = bytearray(warc.read_bytes())
    data[-5] ^= 0xFF
    warc.write_bytes(bytes(data))
    dest = tmp_path / "x.wacz"
    out = archiver(damaged.path, "export", "wacz", str(dest))
    assert out.returncode == 2
    assert "does not match the manifest" in out.stderr and str(warc) in out.stderr
    assert not dest.exists() and not list(tmp_path.glob(".x.wacz*"))


@pytest.fixture(scope="module")
def pywb_on_wacz(wacz: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The WACZ added to a fresh pywb collection by pywb's own tool, then served."""
    folder = tmp_path_factory.mktemp("wbm")
    tool = "import sys; from pywb.manager.manager import main; sys.exit(main())"
    for args in (["init", "coll"], ["add", "--unpack-wacz", "coll", str(wacz)]):
        out = subprocess.run([sys.executable, "-c", tool, *args], cwd=folder,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    port = free_port()
    serve = "import sys; from pywb.apps.cli import wayback; sys.exit(wayback())"
    proc = subprocess.Popen([sys.executable, "-c", serve, "--bind", "127.0.0.1", "-p", str(port)],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/coll/"
    finally:
        proc.terminate()
        proc.wait(30)


def test_pywb_serves_a_page_from_the_wacz(archive: ArchiveRoot, pywb_on_wacz: str) -> None:
    page = "/english/news/uyghur/kazakhs-11132017.html"
    recs = [r for w in sorted(archive.warcs.rglob("*.warc.gz")) for r in read_warc(w)
            if r.type == "response" and r.uri.endswith(page)]
    body = dechunk(recs[0].http_body) if is_chunked(recs[0].http_head) else recs[0].http_body
    conn = http.client.HTTPConnection("127.0.0.1", int(pywb_on_wacz.split(":")[2].split("/")[0]),
                                      timeout=30)
    conn.request("GET", f"/coll/id_/{recs[0].uri}", headers={"Accept-Encoding": "gzip"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read() == body
    conn.close()
