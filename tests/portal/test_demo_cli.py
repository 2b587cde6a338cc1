"""`portal serve --demo` (the README's first command) loads the demo in a fresh process before
the app is built: what the demo needs from the composition root (the attachments' subjects, for
the scrap certificate) must be there then too. In-process tests cannot see this, since another
test has always imported the app already."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOAD = ("import asyncio, sys\n"
        "from portal.cli import _load_demo, migrate\n"
        "migrate()\n"
        "sys.exit(0 if asyncio.run(_load_demo()) else 1)\n")


def test_demo_loads_in_a_fresh_process_as_portal_serve_does():
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo loaded." in done.stdout
