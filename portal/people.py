"""People's accounts: the HQ admin creates and edits users, their roles and a regional
manager's offices; everyone chooses their own language. Passwords and sessions are auth.py's."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import ALL_ROLES, HQ_ROLES, Actor
from portal.auth import MIN_PASSWORD, hash_password
from portal.db import transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import ManagerCoverage, Organisation, User, UserSession


def check_user_fields(*, username: str, display_name: str, roles: list[str], password: str | None,
                       locale: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = "Use letters, digits, dots and underscores (up to 64)."
    if not display_name or len(display_name) > 120:
        errors["display_name"] = "Enter a name (up to 120 characters)."
    if not roles or any(r not in ALL_ROLES for r in roles):
        errors["roles"] = "Choose at least one role."
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = "Passwords need at least 10 characters."
    if locale not in ("zh_CN", "en"):
        errors["locale"] = "Choose a language."
    return errors


def require_admin(actor: Actor) -> None:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")


@transactional
async def create_user(*, actor: Actor, username: str, display_name: str, email: str,
                      organisation_id: int, roles: list[str], password: str,
                      locale: str = "zh_CN", covered_office_ids: list[int] | None = None) -> int:
    require_admin(actor)
    username = username.strip().lower()
    errors = check_user_fields(username=username, display_name=display_name.strip(), roles=roles,
                                password=password, locale=locale)
    org = await Organisation.select(Organisation.id, Organisation.kind).where(
        Organisation.id == organisation_id).first()
    if org is None:
        errors["organisation"] = "Choose an organisation."
    elif org["kind"] != "hq" and set(roles) & HQ_ROLES:
        errors["roles"] = "Head-office roles belong to head-office users only."
    if not errors and await User.exists().where(User.username == username):
        errors["username"] = "This username is taken."
    if errors:
        raise ValidationFailed(errors)
    user = User(username=username, display_name=display_name.strip(), email=email.strip(),
                password_hash=hash_password(password), organisation=organisation_id,
                roles=sorted(set(roles)), locale=locale, created_at=clock.now())
    await User.insert(user)
    for office_id in covered_office_ids or []:
        await ManagerCoverage.insert(ManagerCoverage(user=user.id, organisation=office_id))
    await audit.record(actor=actor, object_type="user", object_id=user.id, action="create",
                       organisation_id=organisation_id,
                       after={"username": username, "roles": sorted(set(roles)),
                              "organisation": organisation_id,
                              "covers": covered_office_ids or []})
    return user.id


@transactional
async def update_user(*, actor: Actor, user_id: int, display_name: str, email: str,
                      roles: list[str], active: bool, locale: str, reason: str = "") -> None:
    require_admin(actor)
    row = await User.select(User.id, User.display_name, User.email, User.roles, User.active,
                            User.locale, User.organisation).where(User.id == user_id).first()
    if row is None:
        raise NotFound("Not found.")
    errors = check_user_fields(username=f"u{user_id}", display_name=display_name.strip(),
                                roles=roles, password=None, locale=locale)
    if user_id == actor.user_id and not active:
        errors["active"] = "You cannot deactivate yourself."
    if errors:
        raise ValidationFailed(errors)
    after = {"display_name": display_name.strip(), "email": email.strip(),
             "roles": sorted(set(roles)), "active": active, "locale": locale}
    before = {k: row[k] for k in after}
    await User.update({User.display_name: after["display_name"], User.email: after["email"],
                       User.roles: after["roles"], User.active: active,
                       User.locale: locale}).where(User.id == user_id)
    if not active:
        await UserSession.delete().where(UserSession.user == user_id)
    old, new = audit.changes(before, after)
    await audit.record(actor=actor, object_type="user", object_id=user_id, action="update",
                       organisation_id=row["organisation"], before=old, after=new,
                       reason=reason)


async def set_locale(*, actor: Actor, locale: str) -> None:
    if locale not in ("zh_CN", "en"):
        raise ValidationFailed({"locale": "Choose a language."})
    await User.update({User.locale: locale}).where(User.id == actor.user_id)
