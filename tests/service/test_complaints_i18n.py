"""R32 in both languages: every message of the complaint modules has its Chinese translation
with the same placeholders. scripts/catalog.py reads templates and the portal, dealers, spares
and settlements packages; the service/ modules are read here, so a complaint message without
its translation fails now rather than reaching a reader in English."""
import re
import sys
from pathlib import Path

import pytest

from portal import i18n

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import catalog  # noqa: E402

MODULES = ["complaints.py", "complaint_steps.py", "complaint_routes.py", "complaint_api.py",
           "complaint_public.py", "complaint_queues.py", "complaint_rules.py",
           "complaint_words.py"]
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def _messages() -> set[str]:
    found: set[str] = set()
    for name in MODULES:
        found |= catalog.python_messages(ROOT / "service" / name)
    return found


def test_the_complaint_modules_have_messages_to_check():
    assert len(_messages()) > 60


@pytest.mark.parametrize("message", sorted(_messages()))
def test_r32_every_complaint_message_is_translated(message):
    zh = i18n.translate(message, "zh_CN")
    assert zh != i18n.plain(message), f"no zh translation of {message!r}"
    assert sorted(PLACEHOLDER.findall(zh)) == sorted(PLACEHOLDER.findall(message))
