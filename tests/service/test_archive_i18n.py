"""R34 words in Chinese: every message of the archive, return-visit and survey modules and
templates (scripts/catalog.py does not scan service/) has its zh translation, with the same
placeholders."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_file

from portal.i18n import translate
from service import archive_queues, archive_routes, archive_rules

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["archive.py", "visits.py", "surveys.py", "archive_routes.py", "visit_routes.py",
           "archive_api.py", "archive_queues.py", "demo_archive.py"]
TEMPLATES = ["customers", "customer", "visit_plans", "visit_plan", "surveys", "survey"]
SUCCESS = ["Return-visit plan drawn.", "Visit recorded.", "Survey opened: record its answers.",
           "Answer recorded.", "Survey analysed: give each main problem its action.",
           "Action recorded; its owner has been told.", "Action marked done."]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _catalog_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalog", ROOT / "scripts" / "catalog.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def messages() -> set[str]:
    catalog = _catalog_script()
    found = set(SUCCESS)
    for name in MODULES:
        found |= catalog.python_messages(ROOT / "service" / name)
    for name in TEMPLATES:
        for _, message, _, _ in extract_from_file(
                "jinja2", str(ROOT / "templates" / "service" / f"{name}.html"),
                options={"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}):
            found |= {message} if isinstance(message, str) else {m for m in message if m}
    for labels in (archive_rules.SURVEY_PROBLEM_LABELS, archive_rules.ACTION_KIND_LABELS,
                   archive_routes.STATUS_LABELS, archive_routes.COLUMN_LABELS):
        found |= set(labels.values())
    for title, empty in archive_queues.QUEUE_LABELS.values():
        found |= {title, empty}
    return {m for m in found if m.strip()}


def test_every_r34_message_has_its_chinese_translation():
    missing = []
    for message in sorted(messages()):
        text = translate(message, "zh_CN")
        if text == message or sorted(PLACEHOLDER.findall(text)) != sorted(
                PLACEHOLDER.findall(message)):
            missing.append(message)
    assert missing == []
