"""Photos and documents on records: a carton's damage for a carrier claim (R15), a greyed tube
for a rejection (R13, R18), a scrap certificate, an audit's evidence.

One interface for every domain. A domain names the kind of record (`register_subject`) with
the function that finds the record's organisation for an actor — raising NotFound when the
actor may not see it, so a file is shown to exactly those who may see its record. Photos are
re-encoded (which also drops EXIF, GPS included) and shrunk before they are kept; PDFs are kept
as sent. The bytes go to the storage first and the row second, in the caller's transaction: a
failed upload leaves no row, and a file whose row was rolled back is swept later
(`sweep_orphans`)."""
from __future__ import annotations

import hashlib
import io
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import NotFound, RuleViolation
from portal.storage import storage

MAX_PIXELS = 50_000_000      # a larger photo is refused before it is decoded (decompression bombs)
LONG_SIDE = 2000             # photos are kept at most this many pixels on their long side
JPEG_QUALITY = 85
PDF = "application/pdf"
SWEEP_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Subject:
    """A kind of record files can be attached to. `owner(actor, id)` returns the organisation
    id the record belongs to, raising NotFound when the actor may not see it; `may_attach`
    raises (Forbidden, RuleViolation) when the actor may not add files to it now."""

    name: str
    owner: Callable[[Actor, int], Awaitable[int]]
    may_attach: Callable[[Actor, int], Awaitable[None]] | None = None


SUBJECTS: dict[str, Subject] = {}


def register_subject(name: str, owner: Callable[[Actor, int], Awaitable[int]],
                     may_attach: Callable[[Actor, int], Awaitable[None]] | None = None) -> None:
    SUBJECTS[name] = Subject(name, owner, may_attach)


def subject(name: str) -> Subject:
    found = SUBJECTS.get(name)
    if found is None:
        raise NotFound("Not found.")
    return found


@dataclass(frozen=True)
class Prepared:
    filename: str
    content_type: str
    data: bytes


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def clean_filename(name: str, content_type: str) -> str:
    """The name shown to people: no path, no control or quoting characters, a fitting suffix."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>|*?:;]", "", base).strip(" .") or "file"
    stem = base.rsplit(".", 1)[0][:180] or "file"
    return stem + (".pdf" if content_type == PDF else ".jpg")


def _reencode(data: bytes) -> bytes:
    from PIL import Image, ImageOps

    too_big = RuleViolation("The photo has too many pixels; take it again at a lower "
                            "resolution.", field="file")
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; ours is lower and refuses.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise too_big
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((LONG_SIDE, LONG_SIDE))
                out = io.BytesIO()
                upright.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
                return out.getvalue()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise too_big from None
        except (OSError, SyntaxError, ValueError):
            raise RuleViolation("The photo could not be read; take it again or choose another "
                                "file.", field="file") from None


def prepare(filename: str, data: bytes, max_bytes: int) -> Prepared:
    """What will be kept, or a RuleViolation saying why not (before anything is stored)."""
    if not data:
        raise RuleViolation("The file is empty.", field="file")
    if len(data) > max_bytes:
        raise RuleViolation("The file is larger than %(mb)s MB.", field="file",
                            mb=max_bytes // (1024 * 1024))
    kind = _sniff(data)
    if kind is None:
        raise RuleViolation("Only photos (JPEG, PNG, WebP) and PDF documents can be attached.",
                            field="file")
    if kind == PDF:
        return Prepared(clean_filename(filename, PDF), PDF, data)
    return Prepared(clean_filename(filename, "image/jpeg"), "image/jpeg", _reencode(data))


@transactional
async def attach(*, actor: Actor, subject_name: str, subject_id: int, filename: str,
                 data: bytes, max_bytes: int | None = None) -> int:
    """Keep one file on a record the actor may see and add to. Joins the caller's transaction."""
    from portal.settings import ATTACHMENTS

    spec = subject(subject_name)
    org_id = await spec.owner(actor, subject_id)
    if spec.may_attach is not None:
        await spec.may_attach(actor, subject_id)
    kept = prepare(filename, data, max_bytes or ATTACHMENTS.max_bytes)
    key = f"{clock.now():%Y/%m}/{secrets.token_urlsafe(24)}"
    await storage().put(key, kept.data)
    row = (await raw_fetch(
        "INSERT INTO attachment (subject, subject_id, organisation, storage_key, filename, "
        "content_type, size_bytes, sha256, uploaded_by, uploaded_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        subject_name, subject_id, org_id, key, kept.filename, kept.content_type, len(kept.data),
        hashlib.sha256(kept.data).hexdigest(), actor.user_id, clock.now()))[0]
    await audit.record(actor=actor, object_type="attachment", object_id=row["id"],
                       action="attach", organisation_id=org_id,
                       after={"subject": subject_name, "subject_id": subject_id,
                              "filename": kept.filename, "bytes": len(kept.data)})
    return int(row["id"])


LIST_SQL = ("SELECT a.id, a.filename, a.content_type, a.size_bytes, a.uploaded_at, "
            "u.display_name AS uploaded_by FROM attachment a "
            "JOIN portal_user u ON u.id = a.uploaded_by "
            "WHERE a.subject = $1 AND a.subject_id = ANY($2::int[]) ORDER BY a.id")


async def list_for(subject_name: str, subject_id: int) -> list[dict]:
    """The files on one record (the caller has already shown the actor may see the record)."""
    return await raw_fetch(LIST_SQL, subject_name, [subject_id])


async def list_for_many(subject_name: str, subject_ids: list[int]) -> dict[int, list[dict]]:
    """The files on many records of one kind in one query (one card per line at the dock)."""
    rows = await raw_fetch(LIST_SQL.replace("a.id, ", "a.id, a.subject_id, ", 1),
                           subject_name, subject_ids)
    found: dict[int, list[dict]] = {i: [] for i in subject_ids}
    for row in rows:
        found[row.pop("subject_id")].append(row)
    return found


async def open_file(*, actor: Actor, attachment_id: int) -> tuple[dict, bytes]:
    """The row and bytes of one file, for an actor who may see its record; otherwise 404."""
    rows = await raw_fetch(
        "SELECT a.*, o.path FROM attachment a JOIN organisation o ON o.id = a.organisation "
        "WHERE a.id = $1", attachment_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    row = rows[0]
    await subject(row["subject"]).owner(actor, row["subject_id"])  # the record's own rule too
    return row, await storage().get(row["storage_key"])


async def sweep_orphans() -> int:
    """Delete stored files older than the grace period that no row names (their transaction
    rolled back after the file was written). Run by the jobs every few minutes, so only this
    month's and last month's folders can hold a new orphan: listing every key ever stored
    would make the job's cost grow with the archive."""
    cutoff = clock.now() - SWEEP_GRACE
    store = storage()
    now = clock.now()  # keys begin with their upload's month (attach)
    months = {f"{now:%Y/%m}/", f"{now.replace(day=1) - timedelta(days=1):%Y/%m}/"}
    keys = [k for month in sorted(months) for k, written in await store.list_keys(month)
            if written < cutoff]
    if not keys:
        return 0
    known = {r["storage_key"] for r in await raw_fetch(
        "SELECT storage_key FROM attachment WHERE storage_key = ANY($1::text[])", keys)}
    orphans = [k for k in keys if k not in known]
    for key in orphans:
        await store.delete(key)
    return len(orphans)
