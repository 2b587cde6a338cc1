"""A small HTTP/1.1 load generator: pure asyncio streams, keep-alive connections, N workers for T
seconds, every request's latency kept (issue 17 §6).

Each worker owns one connection and sends the same pre-built GET again as soon as the previous
answer is read (a closed loop, like `wrk -c N`), so concurrency N means N requests in flight.
It is deliberately cheap — one `write`, one `readuntil` for the head, one `readexactly` for the
body, no header parsing beyond the status and the body's length — because on the bench machine
it shares the cores with the servers it measures. Use uvloop's event loop when calling it (the
bench does) for the cheapest client.

Standalone: .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/ -c 16 -t 5 \\
                -H 'cookie: portal_session=…'"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)  # seconds, one per answered request
    errors: int = 0  # answers other than 200, and connections lost
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(99)


def build_request(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, whether the server keeps the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17:end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF (the last: just CRLF)
            if size == 0:
                break
    elif status not in (204, 304) and status >= 200:
        await reader.read()  # no length: the body ends with the connection
        return status, False
    return status, b"\r\nconnection: close" not in lower


async def run_load(host: str, port: int, request: bytes, *, concurrency: int,
                   seconds: float) -> Result:
    """`concurrency` keep-alive connections, each sending `request` back to back for `seconds`.
    Connections are opened before the clock starts; a request in flight at the deadline is
    finished and counted (the elapsed time includes it)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors
        record = latencies.append
        try:
            while True:
                sent = clock()
                if sent >= deadline:
                    return
                writer.write(request)
                try:
                    status, keep = await _read_answer(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    errors += 1
                    keep = False
                else:
                    record(clock() - sent)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        errors += 1
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    await asyncio.gather(*(worker(r, w) for r, w in connections))
    elapsed = clock() - start
    return Result(len(latencies), elapsed, latencies, errors, statuses)


async def _main(args: argparse.Namespace) -> None:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    headers = dict(h.split(":", 1) for h in args.header)
    request = build_request(host, port, path, {k.strip(): v.strip() for k, v in headers.items()})
    result = await run_load(host, port, request, concurrency=args.concurrency,
                            seconds=args.seconds)
    print(f"{result.rps:9.1f} req/s   p50 {result.p50 * 1000:.2f} ms   "
          f"p99 {result.p99 * 1000:.2f} ms   {result.requests} requests, "
          f"statuses {result.statuses}, errors {result.errors}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("-t", "--seconds", type=float, default=5.0)
    parser.add_argument("-H", "--header", action="append", default=[])
    try:
        import uvloop
    except ImportError:
        asyncio.run(_main(parser.parse_args()))
    else:
        uvloop.run(_main(parser.parse_args()))
