"""A lean HTTP/1.1 keep-alive client for load generation.

The load generator shares the machine with the server, so every microsecond it spends per
request is taken from the server; this client does the least a client can (one connection per
worker, requests written whole, Content-Length bodies read). ``httpx`` checks it in
``bench.run`` and is used for everything that is not timed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class Connection:
    """One keep-alive connection to a server; one request at a time.

    With ``requests_per_connection`` the connection is reopened after that many requests.
    uvicorn's workers share one listening socket and the first to wake accepts every pending
    connection, so a client that opens all its connections at once talks to one worker only;
    reopening them one by one while the workers are busy spreads them the way a load
    balancer would.
    """

    def __init__(self, base: str, requests_per_connection: int | None = None) -> None:
        url = urlsplit(base)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.requests_per_connection = requests_per_connection
        self._served = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        """POST ``body`` and read the whole reply; reconnects once if the server closed."""
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        request = "\r\n".join(head).encode() + body
        if self.requests_per_connection and self._served >= self.requests_per_connection:
            await self.close()
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                self._served = 0
            try:
                self._served += 1
                return await self._exchange(request)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, request: bytes) -> Reply:
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        keep_alive = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        if length is None:
            raise ConnectionError("reply without Content-Length")
        body = await self._reader.readexactly(length)
        if not keep_alive:
            await self.close()
        return Reply(status, body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        self._reader = self._writer = None


class Pool:
    """A connection for each of ``size`` calls in flight."""

    def __init__(self, base: str, size: int, requests_per_connection: int | None = None) -> None:
        # Staggered limits, so that connections are not all reopened at the same moment.
        self.connections = [
            Connection(base, requests_per_connection and requests_per_connection + i)
            for i in range(size)
        ]
        self._free = list(self.connections)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        """POST on a free connection (there is one for each call in flight)."""
        connection = self._free.pop()
        try:
            return await connection.post(path, body, headers)
        finally:
            self._free.append(connection)

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()
