"""Webhook targets: which URLs we agree to call, and the addresses we connect to.

A webhook URL comes from a user, and the worker that calls it sits inside our
network: unchecked, it could reach the metadata server (169.254.169.254), the
database or anything on loopback (SSRF). So a target must be ``http(s)`` and
every address its host resolves to must be public; the check runs when the URL
is registered and again at each delivery, whose connection goes to the very
address that was checked (DNS may answer differently the second time).
``webhook_allow_private = "on"`` lifts the address rule (tests, closed networks).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from urllib.parse import urlsplit

from comprimemelo.domain.errors import InvalidInput

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(InvalidInput):
    """The URL is malformed, does not resolve, or points at a non-public address."""

    code = "invalid_webhook_url"


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``, in order) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be called, or None if it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and (reason := non_public_reason(embedded)):
            return reason
    for flag in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{flag}"):
            return flag.replace("_", "-")
    if not address.is_global:
        return "not globally routable"
    return None


def parse_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path with query)`` of a webhook URL.

    :raise UnsafeTarget: if it is not a plain ``http(s)://host[:port]/path`` URL.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the webhook URL must be a string of 1 to {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeTarget("the webhook URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("the webhook URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeTarget("the webhook URL must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("the webhook URL must not carry credentials; check the signature instead")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("the webhook URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or SCHEMES[scheme], path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Parse ``url`` and resolve its host; every address must be public unless allowed.

    All addresses are checked, not only the first, so a name that answers with
    one public and one private address is refused as a whole.

    :raise UnsafeTarget: on a bad URL, a host that does not resolve, or a
        loopback, private, link-local, multicast, reserved or unspecified address.
    """
    scheme, host, port, path = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise UnsafeTarget(f"the webhook host {host[:255]!r} does not resolve: {error}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = sockaddr[0].split("%", 1)[0]
        address = ipaddress.ip_address(text)
        reason = None if allow_private else non_public_reason(address)
        if reason:
            raise UnsafeTarget(
                f"the webhook host {host[:255]!r} resolves to {text}, a {reason} address: refused"
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise UnsafeTarget(f"the webhook host {host[:255]!r} has no address")
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))


def validate_webhook_url(url: str, settings) -> str:
    """``url`` if it may be registered as a webhook under ``settings``.

    :raise UnsafeTarget: (a 400 ``invalid_webhook_url``) otherwise.
    """
    if settings.webhook_allow_private == "on":
        parse_url(url)  # no address to check: the host may resolve only where the worker runs
    else:
        resolve(url, allow_private=False)
    return url
