"""Photos and documents: add one to a record, list a record's files, open one — as a page
action (htmx or plain form) and through the API. Who may see a file is decided by its record
(`portal/attachments.py`)."""
from __future__ import annotations

import urllib.parse

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from portal import attachments
from portal.api import api_token_required
from portal.errors import PortalError, ValidationFailed
from portal.i18n import gettext
from portal.redirects import safe_next
from portal.settings import ATTACHMENTS
from portal.web import current_actor, done, is_htmx, login_required, render

# a little above the file itself: the multipart envelope and the other fields
BODY_LIMIT = ATTACHMENTS.max_bytes + 64 * 1024


def file_response(row: dict, data: bytes) -> Response:
    disposition = "inline" if row["content_type"].startswith("image/") else "attachment"
    name = urllib.parse.quote(row["filename"])
    return Response(content=data, media_type=row["content_type"], headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=3600"})


async def read_upload(request: Request) -> tuple[str, bytes]:
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise ValidationFailed({"file": "Choose a photo or a PDF document."})
    return upload.filename or "", await upload.read()


async def files_fragment(request: Request, subject: str, subject_id: int, *,
                         status_code: int = 200, error: str = "") -> Response:
    actor = current_actor(request)
    await attachments.subject(subject).owner(actor, subject_id)
    return render(request, "_partials/attachments.html", block="files", status_code=status_code,
                  files=await attachments.list_for(subject, subject_id), subject=subject,
                  subject_id=subject_id, attach_error=error,
                  next=safe_next(request.headers.get("hx-current-url", "/")))


class AttachmentController(Controller):
    guards = [login_required]

    @get("/attachments/{attachment_id:int}")
    async def open_file(self, request: Request, attachment_id: FromPath[int]) -> Response:
        row, data = await attachments.open_file(actor=current_actor(request),
                                                attachment_id=attachment_id)
        return file_response(row, data)

    @get("/attachments/{subject:str}/{subject_id:int}")
    async def files(self, request: Request, subject: FromPath[str],
                    subject_id: FromPath[int]) -> Response:
        return await files_fragment(request, subject, subject_id)

    @post("/attachments/{subject:str}/{subject_id:int}", request_max_body_size=BODY_LIMIT)
    async def add(self, request: Request, subject: FromPath[str], subject_id: FromPath[int],
                  next: FromQuery[str | None] = None) -> Response:
        try:
            filename, data = await read_upload(request)
            await attachments.attach(actor=current_actor(request), subject_name=subject,
                                     subject_id=subject_id, filename=filename, data=data)
        except PortalError as exc:
            return await refused(request, exc, subject, subject_id, next)
        if is_htmx(request):
            return done(request, "File attached.",
                        fragment=await files_fragment(request, subject, subject_id))
        return done(request, "File attached.", safe_next(next))


async def refused(request: Request, exc: PortalError, subject: str, subject_id: int,
                  back: str | None) -> Response:
    """The upload refused: beside the form (htmx), or on a page of its own; 404 stays 404."""
    if exc.status_code == 404:
        raise exc
    text = refusal_text(exc)
    if is_htmx(request):
        return await files_fragment(request, subject, subject_id, status_code=exc.status_code,
                                    error=text)
    return render(request, "_partials/attachment_refused.html", status_code=exc.status_code,
                  error=text, back=safe_next(back))


def refusal_text(exc: PortalError) -> str:
    if isinstance(exc, ValidationFailed):
        return gettext(next(iter(exc.errors.values())))
    return gettext(exc.message, **exc.params)


class AttachmentApi(Controller):
    path = "/api/v1/attachments"
    guards = [api_token_required]

    @get("/{attachment_id:int}")
    async def open_file(self, request: Request, attachment_id: FromPath[int]) -> Response:
        row, data = await attachments.open_file(actor=current_actor(request),
                                                attachment_id=attachment_id)
        return file_response(row, data)

    @get("/{subject:str}/{subject_id:int}")
    async def files(self, request: Request, subject: FromPath[str],
                    subject_id: FromPath[int]) -> list[dict]:
        await attachments.subject(subject).owner(current_actor(request), subject_id)
        return await attachments.list_for(subject, subject_id)

    @post("/{subject:str}/{subject_id:int}", request_max_body_size=BODY_LIMIT, status_code=201)
    async def add(self, request: Request, subject: FromPath[str],
                  subject_id: FromPath[int]) -> dict:
        filename, data = await read_upload(request)
        new_id = await attachments.attach(actor=current_actor(request), subject_name=subject,
                                          subject_id=subject_id, filename=filename, data=data)
        return {"id": new_id, "url": f"/api/v1/attachments/{new_id}"}


HANDLERS = [AttachmentController, AttachmentApi]
