"""Where the catalogue fetch and a pull may connect: public addresses over https, hop by hop.

A catalogue is data from the internet, and its URLs (and the redirects they lead to)
must not turn this program into a probe of the machine or its network: a router's
admin page, a service on 127.0.0.1, a cloud's metadata address (169.254.169.254).
So every URL, the first and each redirect, is resolved and refused unless all its
addresses are public, and plain ``http`` is refused (anyone on the way could change
the model, or the checksums in the catalogue). After connecting, the address actually
reached is checked too, so a name that resolves differently the second time (DNS
rebinding) reaches nothing but public hosts with its answer.

Only the Python caller widens the policy (``trusted_networks``: a mirror the person
runs, the tests' server on 127.0.0.1); nothing in a catalogue or a redirect can.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpt4all_rag.models.errors import RefusedSource

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_REDIRECTS",
    "NetworkPolicy",
    "Resolver",
    "open_checked",
    "refusal_reason",
    "system_resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""``(host, port)`` to the IP addresses a connection to it may reach, as strings."""

MAX_REDIRECTS = 10  # gpt4all.io to Hugging Face to its CDN is two or three

# Most specific first: 127.0.0.1 is also "private" to Python, 169.254.x.x too.
_REFUSED_KINDS: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the operating system gives for ``host`` (IP literals come back as is)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refusal_reason(address: IPAddress) -> str | None:
    """Why a download may not connect to ``address`` ("loopback", "private"…); None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for flag, kind in _REFUSED_KINDS:
        if getattr(address, flag):
            return kind
    return None if address.is_global else "non-public"  # e.g. 100.64.0.0/10, carrier NAT


@dataclass(frozen=True)
class NetworkPolicy:
    """Which URLs the catalogue fetch and a pull may use.

    The default allows https to public addresses only. ``trusted_networks`` adds
    networks the person (or a test) vouches for, plain http included; ``resolve``
    is the name lookup, injectable so that tests need no DNS.
    """

    trusted_networks: tuple[IPNetwork, ...] = ()
    resolve: Resolver = system_resolve

    def check_url(self, url: str) -> None:
        """Refuse ``url`` unless it is https (or http to a trusted network) to allowed addresses.

        Raises:
            RefusedSource: Another scheme, no host, plain http, a host that cannot be
                resolved, or any of its addresses non-public and not trusted.
        """
        scheme, host, port = _split(url)
        addresses = self._resolve(url, host, port)
        for address in addresses:
            reason = None if self._trusted(address) else refusal_reason(address)
            if reason:
                raise RefusedSource(
                    url, f"{host} is {address}, a {reason} address; models come only from "
                    "public addresses"
                )  # fmt: skip
        if scheme == "http" and not all(self._trusted(address) for address in addresses):
            raise RefusedSource(
                url, "plain http can be read and changed on the way; an https URL is required"
            )

    def check_peer(self, url: str, peer: str) -> None:
        """Refuse the address a connection for ``url`` reached, unless it is allowed.

        Raises:
            RefusedSource: ``peer`` is non-public and not trusted.
        """
        address = _address(peer)
        reason = None if self._trusted(address) else refusal_reason(address)
        if reason:
            raise RefusedSource(url, f"the connection reached {address}, a {reason} address")

    def _resolve(self, url: str, host: str, port: int) -> list[IPAddress]:
        try:
            found = [_address(text) for text in self.resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise RefusedSource(url, f"{host} cannot be resolved ({exc})") from exc
        if not found:
            raise RefusedSource(url, f"{host} has no address")
        return found

    def _trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted_networks)


def _split(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` as httpx will connect to them; RefusedSource if not http(s)."""
    import httpx  # httpx: on use only

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise RefusedSource(url, f"not a valid URL ({exc})") from exc
    if parsed.scheme not in ("http", "https"):
        raise RefusedSource(url, "only https URLs are used")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise RefusedSource(url, "the URL has no host")
    return parsed.scheme, host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0: the zone is no part


@contextmanager
def open_checked(
    client: httpx.Client, url: str, headers: Mapping[str, str], policy: NetworkPolicy
) -> Iterator[httpx.Response]:
    """GET ``url`` as a stream, following redirects by hand with ``policy`` checked at each hop.

    ``client`` must not follow redirects itself. At most ``MAX_REDIRECTS`` are followed.

    Raises:
        RefusedSource: A hop the policy refuses, or too many redirects.
        httpx.HTTPError: The transport failed.
    """
    request = client.build_request("GET", url, headers=dict(headers))
    for _ in range(MAX_REDIRECTS + 1):
        hop = str(request.url)
        policy.check_url(hop)
        response = client.send(request, stream=True)
        try:
            _check_connected_peer(response, hop, policy)
            if response.next_request is None:
                yield response
                return
            request = response.next_request
        finally:
            response.close()
    raise RefusedSource(url, f"more than {MAX_REDIRECTS} redirects")


def _check_connected_peer(response: httpx.Response, url: str, policy: NetworkPolicy) -> None:
    """The address actually reached, unless a proxy from the environment stands in between."""
    if any(scheme != "no" for scheme in urllib.request.getproxies()):
        return  # the peer is then the proxy; the URL itself was checked
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if isinstance(peer, tuple) and peer:
        policy.check_peer(url, str(peer[0]))
