"""The country of an IP address, offline (docs/insight.md).

The built-in data is the iptocc package's: the country each of the five Regional Internet
Registries delegated an address block to, a table inside its wheel, refreshed with each
release (pinned in requirements.txt; nothing is downloaded at run time). GEOIP_DB names a
MaxMind or DB-IP .mmdb file (country or city) to use instead, read with maxminddb.

Private, loopback, link-local, shared (100.64/10), documentation and other special ranges
have no country (None), nor has an address the data does not place or a text that is not
an address; an IPv4-mapped IPv6 address is its IPv4 address. A country is ISO 3166-1
alpha-2, upper case.
"""
from __future__ import annotations

import functools
import ipaddress
from typing import Callable

Locate = Callable[[str], "str | None"]

CACHED = 1 << 16            # addresses remembered per database (a year of attackers fits)


class GeoDataError(RuntimeError):
    """GEOIP_DB names a file that cannot be read as a MaxMind DB."""


def placeable(ip: str) -> str | None:
    """Returns ``ip`` as a database looks it up (an IPv4-mapped address as its IPv4 one),
    or None when no country can hold it: not an address, or not a global one."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if not addr.is_global or addr.is_multicast:
        return None
    return str(addr)


def _code(value) -> str | None:
    """Returns a database's country value as an ISO code, or None ('ZZ' is "unknown")."""
    if not isinstance(value, str) or len(value) != 2 or not value.isascii() \
            or not value.isalpha() or value.upper() == "ZZ":
        return None
    return value.upper()


@functools.lru_cache(maxsize=4)
def locator(geoip_db: str = "") -> Locate:
    """Returns the function placing an IP in its country: the built-in data, or the .mmdb
    file ``geoip_db`` names; raises GeoDataError for a file that cannot be read."""
    if geoip_db:
        lookup = _mmdb(geoip_db)
    else:
        from iptocc import country_code
        lookup = country_code

    @functools.lru_cache(maxsize=CACHED)
    def locate(ip: str) -> str | None:
        addr = placeable(ip) if isinstance(ip, str) and ip else None
        return None if addr is None else _code(lookup(addr))
    return locate


def _mmdb(path: str) -> Callable[[str], str | None]:
    import maxminddb
    try:
        reader = maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise GeoDataError(f"GEOIP_DB={path!r} cannot be read as a MaxMind DB (.mmdb) "
                           f"file: {exc}") from None

    def lookup(addr: str) -> str | None:
        try:
            record = reader.get(addr)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):     # GeoIP2 / GeoLite2 / DB-IP layout
            value = record.get(key)
            if isinstance(value, dict):
                value = value.get("iso_code")
            if isinstance(value, str):
                return value
        return record.get("country_code") if isinstance(record.get("country_code"), str) \
            else None
    return lookup


def countries(ips, locate: Locate) -> dict[str, str | None]:
    """Returns {ip: its country} for the distinct ``ips``."""
    return {ip: locate(ip) for ip in set(ips)}
