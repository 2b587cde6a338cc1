"""Notifications: an in-app inbox, and email through SMTP when it is configured.

Rows are written first (in the caller's transaction when there is one); email is sent after,
from the stored rows, so a mail server outage loses nothing and nothing is sent twice.
"""
from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from portal import clock
from portal.actor import Actor
from portal.db import raw_executemany, raw_fetch, transactional
from portal.errors import NotFound
from portal.i18n import translate
from portal.settings import Settings
from portal.tables import Notification, User

log = logging.getLogger("portal.notify")


@transactional
async def notify(*, user_ids: list[int], kind: str, dedupe_key: str, subject: str, body: str,
                 link: str = "", params: dict | None = None) -> None:
    """Queue one notification per user, in each user's language; a repeat (same user, kind
    and key) is ignored, so re-running a reminder job never nags twice."""
    if not user_ids:
        return
    users = await User.select(User.id, User.locale).where(User.id.is_in(user_ids))
    params = params or {}
    at = clock.now()
    rows = [
        (u["id"], kind, dedupe_key, translate(subject, u["locale"], **params)[:200],
         translate(body, u["locale"], **params), link, at)
        for u in users
    ]
    sql = (
        "INSERT INTO notification (\"user\", kind, dedupe_key, subject, body, link, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (\"user\", kind, dedupe_key) DO NOTHING"
    )
    await raw_executemany(sql, rows)


async def inbox(*, actor: Actor, limit: int = 50) -> list[dict]:
    return await Notification.select(
        Notification.id, Notification.subject, Notification.body, Notification.link,
        Notification.created_at, Notification.read_at,
    ).where(Notification.user == actor.user_id).order_by(
        Notification.created_at, ascending=False).limit(limit)


async def unread_count(*, actor: Actor) -> int:
    """The inbox badge of every page: constant text, not an ORM query built each time."""
    return (await raw_fetch('SELECT count(*) AS n FROM notification WHERE "user" = $1 '
                            "AND read_at IS NULL", actor.user_id))[0]["n"]


async def mark_read(*, actor: Actor, notification_id: int) -> None:
    updated = await Notification.update({Notification.read_at: clock.now()}).where(
        (Notification.id == notification_id) & (Notification.user == actor.user_id)
    ).returning(Notification.id)
    if not updated:
        raise NotFound("Not found.")


def _send(settings: Settings, messages: list[EmailMessage], delivered: list[int]) -> None:
    """Send each message; append its index to `delivered` as soon as the server accepted it, so
    a failure part-way still records what went out (nothing sent twice). A refused recipient is
    skipped (retried next run) rather than blocking everyone queued after it."""
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for index, message in enumerate(messages):
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused:
                log.warning("SMTP refused %s; will retry on the next run", message["To"])
                continue
            delivered.append(index)


async def send_pending_emails(settings: Settings, limit: int = 500) -> int:
    """Email notifications not yet emailed to users who have an address. Nothing when SMTP is
    not configured. Returns how many were sent."""
    if not settings.smtp_host:
        return 0
    rows = await raw_fetch(
        "SELECT n.id, n.subject, n.body, n.link, u.email FROM notification n "
        "JOIN portal_user u ON u.id = n.\"user\" "
        "WHERE n.emailed_at IS NULL AND u.email <> '' ORDER BY n.id LIMIT $1", limit)
    if not rows:
        return 0
    messages = []
    for row in rows:
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = row["email"]
        message["Subject"] = row["subject"]
        link = f"\n\n{settings.base_url}{row['link']}" if row["link"] else ""
        message.set_content(row["body"] + link)
        messages.append(message)
    delivered: list[int] = []
    try:
        await asyncio.to_thread(_send, settings, messages, delivered)
    except (OSError, smtplib.SMTPException):
        log.exception("SMTP delivery failed; will retry on the next run")
    if delivered:
        await Notification.update({Notification.emailed_at: clock.now()}).where(
            Notification.id.is_in([rows[i]["id"] for i in delivered]))
    return len(delivered)
