"""A tiny authoritative DNS server for tests (dnslib), answering TXT records you set.

``DNS_RESOLVER=127.0.0.1:<port>`` points the application at it. Unknown names answer
NXDOMAIN; known names without TXT answer NOERROR with no records.
"""

from __future__ import annotations

import threading
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer

__all__ = ["TestDnsServer"]


class _TxtResolver(BaseResolver):
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self.lock:
            values = list(self.records.get(name, []))
            known = name in self.records
        if not known:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for value in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=1))
        return reply


class TestDnsServer:
    """UDP DNS on 127.0.0.1 (a free port) in a background thread."""

    __test__ = False

    def __init__(self) -> None:
        self._resolver = _TxtResolver()
        self._server = DNSServer(
            self._resolver,
            port=0,
            address="127.0.0.1",
            logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data"),
        )

    @property
    def port(self) -> int:
        """The UDP port it answers on."""
        return int(self._server.server.server_address[1])

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, the value for ``DNS_RESOLVER``."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TestDnsServer:
        """Serve in a daemon thread."""
        self._server.start_thread()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def set_txt(self, name: str, *values: str) -> None:
        """Answer ``values`` as TXT records of ``name`` (replacing earlier ones)."""
        with self._resolver.lock:
            self._resolver.records[name.rstrip(".").lower()] = list(values)

    def clear(self, name: str | None = None) -> None:
        """Forget one name, or all."""
        with self._resolver.lock:
            if name is None:
                self._resolver.records.clear()
            else:
                self._resolver.records.pop(name.rstrip(".").lower(), None)
