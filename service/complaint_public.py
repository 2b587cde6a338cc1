"""The consumer's complaint pages, no account (R32): the public form at /complain and the status
page at /complain/status. Both are rate-limited per client IP in the database (the IP as the
login throttle reads it, portal.proxies) and carry the signed-out CSRF token as the sign-in form
does. A reference never reveals another consumer's complaint: the status needs the reference AND
the phone number it was given with, and a wrong one of either gets the same answer."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from portal import clock, policy
from portal.actions import form_input
from portal.errors import ValidationFailed
from portal.proxies import client_ip
from portal.web import public, render
from service import complaint_queries, complaint_rules, complaints
from service.complaint_words import ABOUT_LABELS
from service.inputs import ComplaintStatusIn, PublicComplaintIn

THROTTLED = "Too many requests from your connection. Please wait a while and try again."


async def _form(request: Request, *, status_code: int = 200, errors: dict | None = None,
                form: dict | None = None, throttled: bool = False) -> Response:
    days = await policy.value_on("complaint_resolve_days", clock.china_today())
    return render(request, "service/public_complain.html", status_code=status_code,
                  issue_anon_csrf=True, choices=await complaint_queries.complaint_choices(),
                  abouts=complaint_rules.COMPLAINT_ABOUT, labels=ABOUT_LABELS, days=days,
                  errors=errors or {},
                  form=form or {}, throttled=throttled)


def _status_page(request: Request, *, status_code: int = 200, found: dict | None = None,
                 searched: bool = False, errors: dict | None = None, form: dict | None = None,
                 throttled: bool = False) -> Response:
    return render(request, "service/public_status.html", status_code=status_code,
                  issue_anon_csrf=True, found=found, searched=searched, errors=errors or {},
                  form=form or {}, throttled=throttled)


class PublicComplaintController(Controller):
    """Public by design (on tests/portal/test_guards.py's allowlist)."""

    path = "/complain"
    guards = [public]

    @get("/")
    async def form(self, request: Request) -> Response:
        return await _form(request)

    @post("/")
    async def submit(self, request: Request) -> Response:
        """R32: the consumer's complaint, held by head office (CS judges it); the page gives
        the reference to follow it with. Refused past the limit (429), counted before anything
        else, so a flood of malformed forms is limited too."""
        form = await request.form()
        kept = {k: v for k, v in form.items() if k != "_csrf"}
        if not await complaints.admit_public_attempt("complain", client_ip(request)):
            return await _form(request, status_code=429, form=kept, throttled=True)
        try:
            saved = await complaints.record_public_complaint(
                data=form_input(PublicComplaintIn, form))
        except ValidationFailed as exc:
            return await _form(request, status_code=422, errors=exc.errors, form=kept)
        return render(request, "service/public_complain_done.html", issue_anon_csrf=True,
                      reference=saved["reference"],
                      resolve_by=saved["resolve_by"].astimezone(clock.CHINA).date().isoformat())

    @get("/status")
    async def status_form(self, request: Request) -> Response:
        return _status_page(request)

    @post("/status")
    async def status(self, request: Request) -> Response:
        """R32: the complaint's status in plain words and the answer given, for its reference
        and phone number together; the same "not found" for a wrong reference or phone."""
        form = await request.form()
        kept = {"reference": str(form.get("reference") or "")[:40]}
        if not await complaints.admit_public_attempt("status", client_ip(request)):
            return _status_page(request, status_code=429, form=kept, throttled=True)
        try:
            data = form_input(ComplaintStatusIn, form)
        except ValidationFailed as exc:
            return _status_page(request, status_code=422, errors=exc.errors, form=kept)
        found = await complaints.public_status(reference=data.reference, phone=data.phone)
        return _status_page(request, found=found, searched=True, form=kept)
