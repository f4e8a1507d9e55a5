"""Which addresses capture may connect to on a page's behalf.

A capture run on a server must not be steered into the services beside it:
a public page that redirects to ``http://127.0.0.1:6379/`` or
``http://169.254.169.254/`` (a cloud's metadata service) would otherwise
have archiver fetch it and archive the answer. :class:`AddressPolicy` is the
one rule: a connection made on behalf of a public address (a redirect from
it, or a page's requisites; a browser's requests later) may not reach
a private one, unless ``allow_private_redirects``. URLs the user gives are
fetched as they are, private or not.

The rule is applied to the address actually connected to, once the TCP
connection is open and before any byte is sent, TLS handshake included
(``RecordingMixin._new_conn`` in :mod:`archiver.capture.wire`; a kept-alive
connection is checked again when reused, :meth:`~archiver.capture.wire.Exchange.check_peer`),
so a host name that resolves differently the second time (DNS rebinding)
cannot slip past it.
Which networks count as private is a setting
(:attr:`archiver.capture.settings.CaptureSettings.private_networks`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError, FailureReason

__all__ = ["AddressPolicy", "PeerCheck", "PrivateAddressRefused", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Called with the peer address of a new connection; raises to refuse it.
PeerCheck = Callable[[str], None]


class PrivateAddressRefused(Exception):
    """A connection on a public address's behalf reached a private one.

    Not an :class:`OSError`, so the HTTP stack passes it up unwrapped and
    unretried; :func:`archiver.capture.fetcher.classify` turns it into a
    failure with its ``reason``: ``private-redirect``, or ``private-requisite``
    for a page requisite.
    """

    def __init__(self, address: str, referrer: str,
                 reason: FailureReason = FailureReason.PRIVATE_REDIRECT) -> None:
        self.address = address
        self.referrer = referrer
        self.reason = reason
        what = ("a page requisite" if reason == FailureReason.PRIVATE_REQUISITE
                else "a redirect")
        super().__init__(f"refused to follow {what} from the public address {referrer} "
                         f"to the private address {address}")


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """CIDR strings as networks, or :class:`ConfigError` naming the bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(f"private networks: {value!r} is not a network ({exc})") from exc
    return tuple(out)


@dataclass(frozen=True)
class AddressPolicy:
    """The private networks, and whether public pages may lead into them."""

    private_networks: tuple[Network, ...]
    allow_private: bool = False

    def is_private(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return True  # not an address we can place: treat as internal
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.private_networks if net.version == ip.version)

    def on_behalf_of(self, referrer: str | None,
                     reason: FailureReason = FailureReason.PRIVATE_REDIRECT) -> PeerCheck | None:
        """The check for a connection made on behalf of ``referrer`` (the address a
        redirect, or a page, came from); None when anything may be reached.
        ``reason`` is the failure code of a refusal (a redirect's, or a requisite's)."""
        if self.allow_private or referrer is None or self.is_private(referrer):
            return None

        def check(address: str) -> None:
            if self.is_private(address):
                raise PrivateAddressRefused(address, referrer, reason)

        return check
