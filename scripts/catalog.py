"""Keep the zh_CN catalog complete: list every user-facing msgid (templates and Python), merge
new ones into locale/*/LC_MESSAGES/messages.po, and with --check fail on any untranslated one.

Run: .venv/bin/python scripts/catalog.py [--check]"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["portal", "dealers", "spares", "settlements", "service", "goods", "oversight", "tower"]
ERRORS = {"NotFound", "Forbidden", "Conflict", "RuleViolation", "ValidationFailed", "Throttled",
          "PaymentUnavailable", "SignatureRejected", "TransferRefused", "TransferOutcomeUnknown",
          "PortalError", "NotAuthorizedException", "PermissionDeniedException", "LineErrors"}
# Words templates translate dynamically: roles, organisation kinds, batch statuses, queues.
DYNAMIC = [
    "dealer_clerk", "manager", "repair_staff", "hq_cs", "hq_logistics", "hq_tech", "hq_finance",
    "hq_admin", "auditor", "hq", "office", "agent", "store", "subdistributor", "repair_point",
    "draft", "submitted", "signed", "approved", "dispatched", "received", "dispositioned",
    "closed", "refused", "withdrawn", "to_sign", "to_approve", "in_transit", "to_receive",
    "to_decide", "to_verify", "to_dispatch", "breaching", "requested", "open", "proposed", "completed", "cancelled",
    "repaired", "promised", "exchanged", "refunded", "settled", "escalated", "ruled",
    "second_approval", "paid", "pending", "failed", "reversed", "running", "done",
    "adjustment", "charge",
]


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [s for v in node.values for s in _strings(v)]
    if isinstance(node, ast.Tuple):
        return [s for v in node.elts for s in _strings(v)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def python_messages(path: Path) -> set[str]:
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ERRORS and node.args:
                found.update(_strings(node.args[0]))
            if name == "Refusal" and node.args:  # why an action is refused (allowed_actions)
                found.update(_strings(node.args[0]))
            if name == "done" and len(node.args) > 1:  # portal.web.done: a success message
                found.update(_strings(node.args[1]))
            for kw in node.keywords:  # success="…": a success message handed to a helper
                if kw.arg == "success":
                    found.update(_strings(kw.value))
            if name in ("notify", "_tell_office_and_cs", "tell_office", "gettext", "translate", "g",
                        "Handoff"):  # Handoff: a row of portal/handoffs.py's table
                for kw in node.keywords:
                    if kw.arg in ("subject", "body"):
                        found.update(_strings(kw.value))
                if name in ("_tell_office_and_cs", "tell_office"):
                    found.update(s for a in node.args[2:4] for s in _strings(a))
                if name in ("gettext", "translate", "g") and node.args:  # g = i18n.gettext
                    found.update(_strings(node.args[0]))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Subscript) and getattr(target.value, "id", "") == "errors":
                found.update(_strings(node.value))
            if isinstance(target, ast.Name) and target.id in ("GENERIC", "BAD_LOGIN", "THROTTLED"):
                found.update(_strings(node.value))
            if isinstance(target, ast.Name) and target.id.endswith("_LABELS") \
                    and isinstance(node.value, ast.Dict):
                found.update(_strings(node.value))  # {code: "name for people"}
            if isinstance(target, ast.Name) and target.id == "POLICIES":
                for value in node.value.values:  # type: ignore[attr-defined]
                    found.add(value.elts[2].value)
        elif isinstance(node, ast.Dict):
            # {field: "message"} returned by check_* functions
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant) \
                        and isinstance(value.value, str) and value.value.endswith((".", ")")) \
                        and " " in value.value:
                    found.add(value.value)
        elif isinstance(node, ast.Return) and node.value is not None:
            for s in _strings(node.value):
                if s.endswith(".") and " " in s:
                    found.add(s)
    # reasons appended to verdicts: reasons.append("...")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "append" and node.args \
                and getattr(node.func.value, "id", "") == "reasons":  # not SQL columns.append
            found.update(s for s in _strings(node.args[0]) if " " in s)
    return found


def all_messages() -> set[str]:
    messages = set(DYNAMIC)
    method_map = [("**.html", "jinja2")]
    options = {"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    for _, _, message, _, _ in extract_from_dir(str(ROOT / "templates"), method_map, options):
        messages.update([message] if isinstance(message, str) else [m for m in message if m])
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            messages.update(python_messages(path))
    return {m for m in messages if m.strip()}


def catalog_path(locale: str) -> Path:
    return ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    path = catalog_path(locale)
    if path.exists():
        with path.open("rb") as handle:
            return read_po(handle, locale=locale)
    return Catalog(locale=locale, project="aftersales-portal", charset="utf-8")


def update() -> None:
    messages = all_messages()
    for locale in ("zh_CN", "en"):
        catalog = load(locale)
        for message in sorted(messages):
            if message not in catalog:
                catalog.add(message, "")
        path = catalog_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)


def missing() -> list[str]:
    catalog = load("zh_CN")
    return sorted(m for m in all_messages() if m not in catalog or not catalog[m].string)


if __name__ == "__main__":
    if "--check" in sys.argv:
        gaps = missing()
        for gap in gaps:
            print("untranslated:", gap)
        sys.exit(1 if gaps else 0)
    update()
    print(f"{len(all_messages())} messages")
