"""Users, passwords, sessions, login throttling and personal API tokens."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal import audit, clock, idcache
from portal.actor import Actor
from portal.db import in_transaction, raw_fetch, transactional
from portal.errors import NotFound, Throttled, ValidationFailed
from portal.settings import Settings
from portal.tables import ApiToken, LoginAttempt, User, UserSession

_hasher = PasswordHasher()
# Verifying against this when the user is unknown keeps the answer time the same (no user probing).
_DUMMY_HASH = _hasher.hash("not-a-real-password")
BAD_LOGIN = "Wrong username or password."
THROTTLED = "Too many failed sign-in attempts. Please wait 15 minutes and try again."
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Who is asking, in one statement (issue 17 §1): the user, their organisation and, for a manager,
# the paths of the offices they cover. `{source}` joins whatever identifies the request (a
# session, an API token, a user id) and names its own columns.
_IDENTITY = (
    "SELECT {columns}, u.id AS user_id, u.username, u.display_name, u.roles, u.locale, "
    "o.id AS org_id, o.path AS org_path, o.kind AS org_kind, "
    "CASE WHEN 'manager' = ANY(u.roles) THEN ARRAY(SELECT c.path FROM manager_coverage m "
    "JOIN organisation c ON c.id = m.organisation WHERE m.\"user\" = u.id ORDER BY c.path) "
    "ELSE '{{}}'::varchar[] END AS covered "
    "FROM {source} JOIN portal_user u ON u.id = {user} JOIN organisation o ON o.id = u.organisation "
    "WHERE {where} AND u.active AND o.active")


def _actor(row: dict) -> Actor:
    return Actor(
        user_id=row["user_id"], username=row["username"], display_name=row["display_name"],
        organisation_id=row["org_id"], organisation_path=row["org_path"],
        organisation_kind=row["org_kind"], roles=frozenset(row["roles"]),
        locale=row["locale"], covered_paths=tuple(row["covered"]))


async def load_actor(user_id: int) -> Actor | None:
    """The active user as an Actor; None for an inactive user or organisation."""
    rows = await raw_fetch(_IDENTITY.format(columns="1 AS one", source="(SELECT $1::int AS id) q",
                                            user="q.id", where="TRUE"), user_id)
    return _actor(rows[0]) if rows else None


# Advisory lock classes (pg_advisory_xact_lock(class, key)): one login decision at a time per
# username and per IP. Usernames are always locked before IPs, so two attempts cannot deadlock.
_LOCK_USERNAME, _LOCK_IP = 31, 32


async def _admit_attempt(settings: Settings, username: str, ip: str) -> int | None:
    """One atomic decision per attempt: under the username's and the IP's locks, count the
    recent failures and, below the limit, record this attempt as a failure before the password
    is even checked. Returns the attempt's id, or None when throttled. A burst of concurrent
    guesses therefore queues on the locks and each sees the ones before it: at most
    `login_max_failures` are ever evaluated (issue 10). The locks are held only for these two
    short statements, not while argon2 runs. (On CockroachDB, lock a row per key instead.)"""
    async def decide() -> int | None:
        await raw_fetch("SELECT pg_advisory_xact_lock($1, hashtext($2)), "
                        "pg_advisory_xact_lock($3, hashtext($4))",
                        _LOCK_USERNAME, username, _LOCK_IP, ip)
        # A statement of its own: its snapshot is taken after the locks are held, so it sees
        # every attempt committed by whoever held them before.
        now = clock.now()
        rows = await raw_fetch(
            "INSERT INTO login_attempt (username, ip, succeeded, at) "
            "SELECT $1::varchar, $2::varchar, false, $3 WHERE (SELECT count(*) FROM login_attempt "
            "WHERE NOT succeeded AND at >= $4 AND (username = $1::varchar OR ip = $2::varchar)) "
            "< $5 RETURNING id",
            username, ip, now, now - timedelta(seconds=settings.login_window_seconds),
            settings.login_max_failures)
        return rows[0]["id"] if rows else None

    return await in_transaction(decide)


async def authenticate(settings: Settings, *, username: str, password: str, ip: str) -> Actor:
    """Check a login. The same answer whether the user exists or not; throttled per user and IP
    (together at most `login_max_failures` failures in `login_window_seconds`)."""
    username, ip = username.strip().lower()[:64], ip[:64]
    attempt_id = await _admit_attempt(settings, username, ip)
    if attempt_id is None:
        raise Throttled(THROTTLED)
    row = await User.select(User.id, User.password_hash, User.active).where(
        User.username == username
    ).first()
    # Off the event loop: argon2 takes tens of milliseconds of CPU per guess.
    ok = await asyncio.to_thread(verify_password, row["password_hash"] if row else _DUMMY_HASH,
                                 password)
    actor = await load_actor(row["id"]) if ok and row and row["active"] else None
    if actor is None:
        raise ValidationFailed({"username": BAD_LOGIN})  # the attempt stays a failure
    await LoginAttempt.update({LoginAttempt.succeeded: True}).where(LoginAttempt.id == attempt_id)
    return actor


@dataclass(frozen=True)
class Session:
    token: str
    csrf_token: str
    actor: Actor


async def start_session(actor: Actor) -> Session:
    """Always a fresh random id at login: a planted id is never adopted (session fixation)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = clock.now()
    await UserSession.insert(
        UserSession(token_hash=token_hash(token), user=actor.user_id, csrf_token=csrf,
                    created_at=at, last_seen_at=at)
    )
    return Session(token=token, csrf_token=csrf, actor=actor)


def _expired(settings: Settings, created: datetime, seen: datetime, at: datetime) -> bool:
    return (at - seen).total_seconds() > settings.session_idle_seconds or (
        at - created
    ).total_seconds() > settings.session_absolute_seconds


KEEP_ALIVE_SECONDS = 60  # one write a minute is enough to tell a session or token is in use
_kept_alive: dict[str, datetime] = {}  # session/token key -> when this process last wrote it


async def _keep_alive(key: str, sql: str, row: dict, column: str, at: datetime) -> dict:
    """The once-a-minute write that a session (`last_seen_at`) or a token (`last_used_at`) is
    in use, made by one request of this process. Every request that reads the row before that
    write commits sees it stale; without the note below each wrote too, and under load (a
    client's 16 concurrent calls) 16 updates of one row queued behind its lock, one commit
    after another: requests stalled 50–130 ms once a minute (issue 17, bench/http_bench.py)."""
    mine = _kept_alive.get(key)
    last = max((t for t in (row[column], mine) if t is not None), default=None)
    if last is not None and (at - last).total_seconds() <= KEEP_ALIVE_SECONDS:
        return row if last == row[column] else {**row, column: last}
    if len(_kept_alive) >= idcache.MAX_ENTRIES:
        _kept_alive.clear()
    _kept_alive[key] = at  # before the write: who arrives meanwhile does not write too
    await raw_fetch(sql, at, row["id"])
    return {**row, column: at}


async def resume_session(settings: Settings, token: str) -> Session | None:
    """The session for a cookie value, or None if unknown, idle too long or too old."""
    if not token or len(token) > 100:
        return None
    key, since, at = "s" + token_hash(token), idcache.generation(), clock.now()
    row = idcache.get(key)
    # A kept row that looks idle too long is read again: another process may have seen the
    # session since (it keeps last_seen_at to itself, see the keep-alive below).
    if row is None or _expired(settings, row["created_at"], row["last_seen_at"], at):
        rows = await raw_fetch(_IDENTITY.format(
            columns="s.id, s.csrf_token, s.created_at, s.last_seen_at", source="user_session s",
            user="s.\"user\"", where="s.token_hash = $1"), key[1:])
        if not rows:  # unknown, or its user or organisation no longer active
            return None
        row = {**rows[0], "actor": _actor(rows[0])}
        if _expired(settings, row["created_at"], row["last_seen_at"], at):
            await UserSession.delete().where(UserSession.id == row["id"])
            return None
    row = await _keep_alive(key, idcache.SESSION_SEEN, row, "last_seen_at", at)
    idcache.put(key, row, since)
    return Session(token=token, csrf_token=row["csrf_token"], actor=row["actor"])


async def end_session(token: str) -> None:
    await UserSession.delete().where(UserSession.token_hash == token_hash(token))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


# --- personal API tokens -------------------------------------------------------------------

@transactional
async def create_api_token(*, actor: Actor, name: str) -> str:
    """Returns the token once; only its hash is kept."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationFailed({"name": "Give the token a name (up to 80 characters)."})
    token = "pt_" + secrets.token_urlsafe(32)
    row = ApiToken(user=actor.user_id, name=name, token_hash=token_hash(token), prefix=token[:10],
                   created_at=clock.now())
    await ApiToken.insert(row)
    await audit.record(actor=actor, object_type="api_token", object_id=row.id,
                       action="create", after={"name": name, "prefix": token[:10]})
    return token


async def list_api_tokens(*, actor: Actor) -> list[dict]:
    return await ApiToken.select(
        ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.created_at,
        ApiToken.last_used_at, ApiToken.revoked_at,
    ).where(ApiToken.user == actor.user_id).order_by(ApiToken.id)


@transactional
async def revoke_api_token(*, actor: Actor, token_id: int) -> None:
    row = await ApiToken.select(ApiToken.id, ApiToken.revoked_at).where(
        (ApiToken.id == token_id) & (ApiToken.user == actor.user_id)
    ).first()
    if row is None:
        raise NotFound("Not found.")
    if row["revoked_at"] is None:
        await ApiToken.update({ApiToken.revoked_at: clock.now()}).where(ApiToken.id == token_id)
        await audit.record(actor=actor, object_type="api_token", object_id=token_id,
                           action="revoke")


async def actor_for_api_token(token: str) -> Actor | None:
    if not token.startswith("pt_") or len(token) > 100:
        return None
    key, since, at = "t" + token_hash(token), idcache.generation(), clock.now()
    row = idcache.get(key)
    if row is None:
        rows = await raw_fetch(_IDENTITY.format(
            columns="t.id, t.last_used_at", source="api_token t", user="t.\"user\"",
            where="t.token_hash = $1 AND t.revoked_at IS NULL"), key[1:])
        if not rows:
            return None
        row = {**rows[0], "actor": _actor(rows[0])}
    row = await _keep_alive(key, idcache.TOKEN_USED, row, "last_used_at", at)
    idcache.put(key, row, since)
    return row["actor"]
