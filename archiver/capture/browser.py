"""The browser driver of ``capture --browser``: headless Chromium, through the proxy.

:class:`Browser` loads a page in Debian's ``chromium`` (driven by
Playwright for Python, launched with ``executable_path``: Playwright's own
browser download is never needed), with every request going through
archiver's recording proxy (:mod:`archiver.capture.proxy`), waits for the
network to go idle (bounded by the page timeout), and returns what the reader
saw: a full-page PNG screenshot, the rendered DOM, the title and the links
(:class:`Rendered`). It writes nothing; :mod:`archiver.capture.run` does.

Chromium trusts exactly one extra key: the host certificates of the archive's
authority (``--ignore-certificate-errors-spki-list``); the origin's own
certificate is verified by the proxy's fetcher. A page that hangs the
browser (a script that never yields) is cut off by a watchdog that kills
the browser's processes; the next page starts a fresh browser.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["Browser", "BrowserFailed", "Rendered", "require_browser"]

#: Chromium's flags: no sandbox (containers), no GPU, no QUIC (it would go
#: around the proxy over UDP), and none of its own background services.
FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-features=OptimizationHints,Translate,MediaRouter",
         "--disable-domain-reliability", "--no-pings")
VIEWPORT = {"width": 1280, "height": 900}
#: Seconds beyond twice the page timeout (the network wait, then the
#: screenshot and DOM) after which a browser that has not answered is killed.
GRACE = 10.0
#: Links kept in a page's metadata record at most.
MAX_OUTLINKS = 2000


class BrowserFailed(Exception):
    """The browser crashed, hung past the watchdog, or could not load the page."""


def require_browser() -> str:
    """The path of Debian's ``chromium``, or :class:`ConfigError` saying in one line
    what to install (the extra, or the package)."""
    if importlib.util.find_spec("playwright") is None:
        raise ConfigError("capture --browser needs the browser extra: "
                          "pip install 'archiver[browser]'")
    path = shutil.which("chromium")
    if path is None:
        raise ConfigError("capture --browser needs Chromium: apt-get install chromium")
    return path


@dataclass(frozen=True)
class Rendered:
    """A page as the browser rendered it."""

    url: str  # where the browser ended up (after redirects)
    title: str
    outlinks: tuple[str, ...]
    screenshot: bytes  # PNG
    dom: bytes  # the serialized DOM, UTF-8
    network_idle: bool  # whether the network went idle before the page timeout


class Browser:
    """One headless Chromium (restarted after a crash), one fresh context per page."""

    def __init__(self, proxy: str, spki_hash: str, page_timeout: float) -> None:
        self.executable = require_browser()
        self.proxy = proxy
        self.spki_hash = spki_hash
        self.page_timeout = page_timeout
        self.version = ""
        self._pw: Any = None
        self._browser: Any = None

    def _start(self) -> Any:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._stop()
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        # A plain launch: Playwright gives the browser a fresh temporary
        # profile (its --user-data-dir, which Chromium needs to honour the
        # SPKI list), and each page a fresh context of its own.
        self._browser = self._pw.chromium.launch(
            executable_path=self.executable, headless=True,
            args=[*FLAGS, f"--ignore-certificate-errors-spki-list={self.spki_hash}"],
            proxy={"server": self.proxy, "bypass": "<-loopback>"},
            timeout=60_000,
        )
        self.version = str(self._browser.version)
        return self._browser

    def _stop(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                self._browser.close()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                self._pw.stop()
        self._browser = self._pw = None

    def close(self) -> None:
        self._stop()

    def render(self, url: str) -> Rendered:
        """Load ``url``, wait for the network to go idle (at most the page timeout),
        take the screenshot and the DOM; :class:`BrowserFailed` if the browser
        cannot (the watchdog kills a browser that hangs)."""
        fired = threading.Event()
        limit = 2 * self.page_timeout + GRACE
        watchdog = threading.Timer(limit, _kill_browsers, (fired,))
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._render(self._start(), url)
        except Exception as exc:
            watchdog.cancel()
            reason = (f"browser hung: killed {limit:.0f}s into the page"
                      if fired.is_set() else f"browser failed: {_first_line(exc)}")
            self._stop()  # whatever state it is in, the next page gets a fresh one
            raise BrowserFailed(reason) from exc
        finally:
            watchdog.cancel()

    def _render(self, browser: Any, url: str) -> Rendered:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        context = browser.new_context(viewport=VIEWPORT, service_workers="block")
        try:
            page = context.new_page()
            t0 = time.monotonic()
            page.goto(url, wait_until="load", timeout=self.page_timeout * 1000)
            left = max(self.page_timeout - (time.monotonic() - t0), 0.1)
            idle = True
            try:
                page.wait_for_load_state("networkidle", timeout=left * 1000)
            except PlaywrightTimeout:
                idle = False  # (a page that polls forever: take it as it is now)
            page.set_default_timeout(self.page_timeout * 1000)
            screenshot = page.screenshot(full_page=True, type="png")
            dom = page.content().encode("utf-8")
            title = page.title()
            links = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.href).filter(h => /^https?:/.test(h))")
            outlinks = tuple(dict.fromkeys(str(h) for h in links))[:MAX_OUTLINKS]
            return Rendered(page.url, title, outlinks, screenshot, dom, idle)
        finally:
            with contextlib.suppress(Exception):
                context.close()


def _kill_browsers(fired: threading.Event) -> None:
    """The watchdog: SIGKILL every Chromium process this process started
    (not the Playwright driver, which reports the loss to the waiting call)."""
    fired.set()
    for pid in _descendants(os.getpid()):
        if _comm(pid).startswith("chrom"):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _descendants(root: int) -> set[int]:
    """Every process below ``root`` (from /proc: Linux, as Debian's chromium is)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
