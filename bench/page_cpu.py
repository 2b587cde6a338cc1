"""CPU per request of the main pages, in-process (issue 17): the real app driven through its
ASGI interface by httpx on the same event loop, so `time.process_time` counts the portal's own
Python (framework, identity, scoping, queries' client side, templates) without a server or a
second process; how much of it is template rendering is measured apart. Seeds the network and
100,000 return lines of bench/batches.py. Not a load test (bench/http_bench.py is): the figure
to watch when changing per-request code.
Run: .venv/bin/python bench/page_cpu.py [--requests 400] [--lines 100000]"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import jinja2  # noqa: E402

from bench import batches as seeding  # noqa: E402
from bench.http_bench import add_clerk, identities  # noqa: E402
from portal import db  # noqa: E402

PAGES = [("/batches?queue=to_decide", "cs"), ("/", "clerk")]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    conn = await asyncpg.connect(db.engine().config["dsn"])
    ids = await seeding.seed_network(conn)
    await seeding.grow_lines(conn, args.lines)
    headers = await identities({"cs": ids["users"]["cs"], "clerk": await add_clerk(conn)}, "x")
    rendering = [0.0]
    render = jinja2.Template.render

    def timed_render(self, *a, **k):
        start = time.process_time()
        try:
            return render(self, *a, **k)
        finally:
            rendering[0] += time.process_time() - start

    jinja2.Template.render = timed_render  # type: ignore[method-assign]
    from portal.app import create_app

    app = create_app()
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://bench") as client:
        for path, who in PAGES:
            for _ in range(30):  # warm: templates compiled, statements prepared
                assert (await client.get(path, headers=headers[who])).status_code == 200
            rendering[0] = 0.0
            start = time.process_time()
            for _ in range(args.requests):
                await client.get(path, headers=headers[who])
            n = args.requests
            print(f"{path:<28} CPU per request {(time.process_time() - start) / n * 1000:5.2f} ms"
                  f"   of which templates {rendering[0] / n * 1000:5.2f} ms", flush=True)
    await conn.close()


if __name__ == "__main__":
    run(main)
