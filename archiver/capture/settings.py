"""Capture settings: one frozen object with named defaults.

Every request has timeouts (requests has none by default), a total deadline,
a size cap and a User-Agent naming the tool; the CLI builds one of these from
its options and the library never reads options from anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..version import __version__
from .netpolicy import AddressPolicy, parse_networks

__all__ = ["DEFAULT_PRIVATE_NETWORKS", "DEFAULT_USER_AGENT", "CaptureSettings"]

DEFAULT_USER_AGENT = f"archiver/{__version__} (web archiving for evidence preservation)"

#: Networks a public page may not redirect into: RFC 1918, loopback,
#: link-local (cloud metadata services live at 169.254.169.254), IPv6
#: unique-local, and "this host" (0.0.0.0 and :: reach the local machine).
DEFAULT_PRIVATE_NETWORKS = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "0.0.0.0/8", "::1/128", "::/128", "fe80::/10", "fc00::/7",
)


@dataclass(frozen=True)
class CaptureSettings:
    """How a capture run fetches and writes.

    Times are seconds. ``max_bytes`` caps each response body (the record is
    then cut and marked ``WARC-Truncated: length``); ``warc_size`` is the size
    at which a WARC file is closed and a new one begun.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    max_redirects: int = 10
    #: After this many URLs in a row on one host fail to connect at all (DNS,
    #: refused, connect timeout, TLS), the host's other URLs fail at once
    #: instead of each spending its retries and timeouts; 0: never.
    host_failures: int = 3
    delay: float = 1.0
    concurrency: int = 4
    max_bytes: int = 100 * 1024 * 1024
    warc_size: int = 1024 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    operator: str | None = None
    dedup: bool = True
    # zlib level 3 compresses about twice as fast as the default 6 on real news
    # pages for ~10% larger WARCs: capture speed matters more before a takedown.
    gzip_level: int = 3
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: A PEM file of CA certificates to trust instead of the system's (e.g. an
    #: institution's TLS-inspecting proxy); None: the certifi bundle.
    ca_bundle: str | None = None
    #: CIDR networks counted as private (see :mod:`archiver.capture.netpolicy`).
    private_networks: tuple[str, ...] = DEFAULT_PRIVATE_NETWORKS
    #: Follow redirects from public addresses into private ones (and fetch a
    #: public page's requisites on private ones).
    allow_private_redirects: bool = False
    #: After each page, capture what it needs to render (``-p``, see
    #: :mod:`archiver.capture.requisites`), up to ``requisites_max`` per page.
    page_requisites: bool = False
    requisites_max: int = 200
    #: Load each page in headless Chromium through the recording proxy
    #: (:mod:`archiver.capture.browser`), keeping a screenshot and the rendered DOM.
    browser: bool = False
    #: With ``browser``: how long to wait for a page's network to go idle.
    page_timeout: float = 30.0

    def __post_init__(self) -> None:
        checks = [
            ("connect_timeout", self.connect_timeout > 0, "> 0"),
            ("read_timeout", self.read_timeout > 0, "> 0"),
            ("deadline", self.deadline > 0, "> 0"),
            ("retries", self.retries >= 0, ">= 0"),
            ("delay", self.delay >= 0, ">= 0"),
            ("concurrency", self.concurrency >= 1, ">= 1"),
            ("max_bytes", self.max_bytes >= 1, ">= 1"),
            ("warc_size", self.warc_size >= 1024, ">= 1024"),
            ("max_redirects", self.max_redirects >= 0, ">= 0"),
            ("host_failures", self.host_failures >= 0, ">= 0"),
            ("gzip_level", 1 <= self.gzip_level <= 9, "from 1 to 9"),
            ("requisites_max", self.requisites_max >= 0, ">= 0"),
            ("page_timeout", self.page_timeout > 0, "> 0"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                value = getattr(self, name)
                raise ConfigError(f"capture setting {name}={value!r} is out of range: "
                                  f"it must be {allowed}")
        self.address_policy()  # a bad network is a ConfigError now, not mid-run

    def address_policy(self) -> AddressPolicy:
        """The rule on which addresses a page may lead capture to."""
        return AddressPolicy(parse_networks(self.private_networks),
                             self.allow_private_redirects)
