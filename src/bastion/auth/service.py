"""Accounts, passwords, TOTP, sign-in with lock-out, sessions, API tokens and role grants.

Every function is keyword-only, takes the caller's ``session`` and never commits:
the unit of work that opened the session owns the transaction. Security facts
(sign-ins, failures, lock-outs, admin actions) are staged on the ledger in the same
transaction. Nothing here logs or stages a password, TOTP code, token or secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.auth.models import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from bastion.auth.permissions import Grant, Role, covers, requires_mfa
from bastion.core.clock import Clock
from bastion.core.context import Context
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from bastion.core.events import (
    EVENT_ADMIN_ACTION,
    EVENT_ALARM_RAISED,
    EVENT_AUTH,
    AdminActionPayload,
    AlarmPayload,
    AuthPayload,
    make_event,
)
from bastion.store import crypto
from bastion.store.ledger import stage

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
TOTP_ISSUER = "Bastion"
TOKEN_PREFIX = "bst"
SIGN_IN_FAILED = "Sign-in failed: check the user name, password and authenticator code."
SESSION_INVALID = "Sign-in required."
TOKEN_INVALID = "Invalid or expired API token."
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

# argon2-cffi defaults to argon2id with the RFC 9106 low-memory parameters.
_HASHER = PasswordHasher()
_DUMMY_HASH: str | None = None

Authority = Sequence[Grant] | None
"""The grants of whoever performs an admin action; None is the trusted local CLI."""


# --- passwords ------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when ``password`` matches ``password_hash``."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _burn_verify(password: str) -> None:
    """Spend the time of a real verification so unknown user names are not faster."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


def check_password_policy(*, username: str, password: str) -> None:
    """Raise InvalidInput when ``password`` is too short, too long or the user name."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(f"the password must have at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(f"the password must have at most {PASSWORD_MAX_LENGTH} characters")
    if password.strip().casefold() == username.strip().casefold():
        raise InvalidInput("the password must not be the user name")


def normalise_username(username: str) -> str:
    """Return the canonical (lower-case, trimmed) form of a user name."""
    return username.strip().lower()


def _check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise InvalidInput(
            "a user name has 2-64 characters: letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return name


# --- helpers --------------------------------------------------------------------------------


def sha256_hex(value: str) -> str:
    """Return the SHA-256 hex digest of ``value`` (how tokens are stored)."""
    return hashlib.sha256(value.encode()).hexdigest()


def grants_of(user: User) -> tuple[Grant, ...]:
    """Return the user's role grants as value objects."""
    return tuple(
        Grant(Role(g.role), g.site_id, frozenset(g.zone_ids) if g.zone_ids else None)
        for g in user.grants
    )


def _admin_event(
    session: Session,
    *,
    context: Context,
    clock: Clock,
    action: str,
    target: str,
    detail: dict[str, str] | None = None,
) -> None:
    stage(
        session,
        make_event(
            EVENT_ADMIN_ACTION,
            AdminActionPayload(action=action, target=target, detail=detail or {}),
            context=context,
            time=clock.now(),
        ),
    )


def _auth_event(
    session: Session,
    *,
    clock: Clock,
    username: str,
    user: User | None,
    method: Literal["password", "totp", "token", "session"],
    outcome: str,
    source: str,
    context: Context | None = None,
) -> None:
    subject = f"user:{user.id}" if user is not None else None
    stage(
        session,
        make_event(
            EVENT_AUTH,
            AuthPayload(
                subject=subject,
                username=username[:64],
                method=method,
                outcome=outcome,
                source=source[:64],
            ),
            context=context or Context(actor=subject or "anonymous"),
            time=clock.now(),
        ),
    )


def _ensure_may_hold(
    authority: Authority, role: Role, site_id: str | None, zone_ids: frozenset[str] | None = None
) -> None:
    if authority is not None and not covers(authority, role, site_id, zone_ids):
        raise Forbidden(f"you cannot hand out role {role.value} without holding it yourself")


def _ensure_may_administer(authority: Authority, user: User) -> None:
    """Forbid acting on an account that holds permissions the actor lacks."""
    if authority is None:
        return
    for grant in grants_of(user):
        if not covers(authority, grant.role, grant.site_id, grant.zone_ids):
            raise Forbidden(f"user {user.username} holds more privileges than you do")


# --- accounts -------------------------------------------------------------------------------


def get_user(*, session: Session, user_id: int) -> User:
    """Return the user with ``user_id``; raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def find_user(*, session: Session, username: str) -> User | None:
    """Return the user called ``username`` (case-insensitive), if any."""
    name = normalise_username(username)
    return session.execute(select(User).where(User.username == name)).scalar_one_or_none()


def get_user_by_name(*, session: Session, username: str) -> User:
    """Return the user called ``username``; raise NotFound."""
    user = find_user(session=session, username=username)
    if user is None:
        raise NotFound(f"no user called {normalise_username(username)!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    """Return every account, by user name."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    clock: Clock,
    context: Context,
    display_name: str = "",
    grants: Iterable[Grant] = (),
    authority: Authority = None,
) -> User:
    """Create an account with its role grants; stage ``user.create`` (and role grants)."""
    name = _check_username(username)
    check_password_policy(username=name, password=password)
    wanted = list(dict.fromkeys(grants))
    for grant in wanted:
        _ensure_may_hold(authority, grant.role, grant.site_id, grant.zone_ids)
    if find_user(session=session, username=name) is not None:
        raise Conflict(f"user {name!r} already exists")
    now = clock.now()
    user = User(
        username=name,
        display_name=display_name.strip()[:200],
        password_hash=hash_password(password),
        disabled=False,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="user.create",
        target=f"user:{user.id}",
        detail={"username": name},
    )
    for grant in wanted:
        _add_grant(session, user=user, grant=grant, clock=clock, context=context)
    return user


def set_password(
    *,
    session: Session,
    user: User,
    password: str,
    clock: Clock,
    context: Context,
    authority: Authority = None,
) -> None:
    """Replace the password, end the account's sessions and clear a lock-out."""
    _ensure_may_administer(authority, user)
    check_password_policy(username=user.username, password=password)
    now = clock.now()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.locked_until = None
    user.failures_reset_at = now
    end_sessions_for(session=session, user=user, clock=clock, reason="password_reset")
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="user.password_reset",
        target=f"user:{user.id}",
        detail={"username": user.username},
    )


def disable_user(
    *,
    session: Session,
    user: User,
    clock: Clock,
    context: Context,
    authority: Authority = None,
) -> None:
    """Disable the account: it cannot sign in, and its sessions and tokens end."""
    _ensure_may_administer(authority, user)
    user.disabled = True
    ended = end_sessions_for(session=session, user=user, clock=clock, reason="disabled")
    revoked = _revoke_tokens_of(session, user=user, clock=clock)
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="user.disable",
        target=f"user:{user.id}",
        detail={
            "username": user.username,
            "sessions_ended": str(ended),
            "tokens_revoked": str(revoked),
        },
    )


# --- roles ----------------------------------------------------------------------------------


def _add_grant(
    session: Session, *, user: User, grant: Grant, clock: Clock, context: Context
) -> RoleGrant:
    if grant in grants_of(user):
        raise Conflict(f"user {user.username} already holds {grant.label()}")
    row = RoleGrant(
        role=grant.role.value,
        site_id=grant.site_id,
        zone_ids=sorted(grant.zone_ids) if grant.zone_ids is not None else None,
        granted_at=clock.now(),
        granted_by=context.actor,
    )
    user.grants.append(row)
    session.flush()
    detail = {"username": user.username, "role": grant.role.value, "site": grant.site_id or "*"}
    if grant.zone_ids is not None:
        detail["zones"] = ",".join(sorted(grant.zone_ids))
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="role.grant",
        target=f"user:{user.id}",
        detail=detail,
    )
    return row


def grant_role(
    *,
    session: Session,
    user: User,
    role: Role,
    clock: Clock,
    context: Context,
    site_id: str | None = None,
    zone_ids: Iterable[str] | None = None,
    authority: Authority = None,
) -> RoleGrant:
    """Grant ``role`` at ``site_id`` (None: every site), optionally only in ``zone_ids``.

    Stage ``role.grant``.
    """
    zones = frozenset(zone_ids) if zone_ids is not None else None
    try:
        grant = Grant(role, site_id, zones)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    _ensure_may_hold(authority, role, site_id, zones)
    return _add_grant(session, user=user, grant=grant, clock=clock, context=context)


def revoke_role(
    *,
    session: Session,
    user: User,
    role: Role,
    clock: Clock,
    context: Context,
    site_id: str | None = None,
    authority: Authority = None,
) -> None:
    """Take ``role`` at ``site_id`` away; stage ``role.revoke``."""
    _ensure_may_hold(authority, role, site_id)
    for row in list(user.grants):
        if row.role == role.value and row.site_id == site_id:
            user.grants.remove(row)
            session.flush()
            break
    else:
        where = "every site" if site_id is None else f"site {site_id}"
        raise NotFound(f"user {user.username} does not hold {role.value} at {where}")
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="role.revoke",
        target=f"user:{user.id}",
        detail={"username": user.username, "role": role.value, "site": site_id or "*"},
    )


# --- TOTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    """A fresh TOTP secret and its ``otpauth://`` URI; shown once, to the account holder."""

    secret: str
    provisioning_uri: str


def enrol_totp(
    *,
    session: Session,
    user: User,
    clock: Clock,
    context: Context,
    authority: Authority = None,
    action: str = "user.totp_enrol",
) -> TotpEnrolment:
    """Give the account a new TOTP secret (stored encrypted) and end its sessions."""
    _ensure_may_administer(authority, user)
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_step = None
    end_sessions_for(session=session, user=user, clock=clock, reason="totp_reset")
    _admin_event(
        session,
        context=context,
        clock=clock,
        action=action,
        target=f"user:{user.id}",
        detail={"username": user.username},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    return TotpEnrolment(secret=secret, provisioning_uri=uri)


def reset_totp(
    *,
    session: Session,
    user: User,
    clock: Clock,
    context: Context,
    authority: Authority = None,
) -> TotpEnrolment:
    """Replace a lost authenticator: new secret, old codes and sessions void."""
    return enrol_totp(
        session=session,
        user=user,
        clock=clock,
        context=context,
        authority=authority,
        action="user.totp_reset",
    )


def verify_totp(*, session: Session, user: User, code: str | None, clock: Clock) -> bool:
    """Return True for a current code (±1 step) not used before; remember its step."""
    if user.totp_secret is None or not code:
        return False
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(clock.now())
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # A code is good once: replaying it, or an older one, fails.
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            session.flush()
            return True
    return False


# --- sign-in --------------------------------------------------------------------------------


class LoginFailed(Unauthorized):
    """Sign-in failed; the failure is recorded in the session, which must still commit."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_FAILED)


def _record_attempt(
    session: Session, *, username: str, user: User | None, outcome: str, source: str, now: datetime
) -> None:
    session.add(
        LoginAttempt(
            username=username[:64],
            user_id=user.id if user is not None else None,
            time=now,
            outcome=outcome,
            source=source[:64],
        )
    )
    session.flush()


def _recent_failures(session: Session, *, user: User, now: datetime) -> int:
    since = now - LOCKOUT_WINDOW
    if user.failures_reset_at is not None and user.failures_reset_at > since:
        since = user.failures_reset_at
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.user_id == user.id,
            LoginAttempt.outcome == "failed",
            LoginAttempt.time > since,
        )
    )
    return int(session.execute(stmt).scalar_one())


def is_locked(user: User, *, now: datetime) -> bool:
    """Return True while the account is locked out."""
    return user.locked_until is not None and now < user.locked_until


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    totp: str | None,
    source: str,
    clock: Clock,
) -> User:
    """Check every factor and return the user, or raise LoginFailed with a generic message.

    A locked, disabled or unknown account, a wrong password, a wrong, replayed or
    missing TOTP code all fail the same way. Failures are recorded and staged in
    ``session``: the caller must commit it even when LoginFailed is raised, or the
    lock-out never triggers. TOTP is mandatory for MFA roles and for every account
    that has enrolled it; an MFA role without an enrolled secret cannot sign in.
    """
    now = clock.now()
    typed = normalise_username(username)[:64]
    user = find_user(session=session, username=typed)
    if user is None:
        _burn_verify(password)
        _record_attempt(
            session, username=typed, user=None, outcome="failed", source=source, now=now
        )
        _auth_event(
            session,
            clock=clock,
            username=typed,
            user=None,
            method="password",
            outcome="failed",
            source=source,
        )
        raise LoginFailed()
    if is_locked(user, now=now):
        _burn_verify(password)
        _record_attempt(
            session, username=typed, user=user, outcome="locked", source=source, now=now
        )
        _auth_event(
            session,
            clock=clock,
            username=typed,
            user=user,
            method="password",
            outcome="rejected_locked",
            source=source,
        )
        raise LoginFailed()
    failed: Literal["password", "totp"] | None = None
    if not verify_password(user.password_hash, password) or user.disabled:
        failed = "password"
    elif (user.totp_enrolled or requires_mfa(grants_of(user))) and not verify_totp(
        session=session, user=user, code=totp, clock=clock
    ):
        failed = "totp"
    if failed is not None:
        _record_attempt(
            session, username=typed, user=user, outcome="failed", source=source, now=now
        )
        _auth_event(
            session,
            clock=clock,
            username=typed,
            user=user,
            method=failed,
            outcome="disabled" if user.disabled else "failed",
            source=source,
        )
        if not user.disabled and _recent_failures(session, user=user, now=now) >= LOCKOUT_THRESHOLD:
            _lock_out(session, user=user, clock=clock, source=source)
        raise LoginFailed()
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    user.failures_reset_at = now
    _record_attempt(session, username=typed, user=user, outcome="succeeded", source=source, now=now)
    _auth_event(
        session,
        clock=clock,
        username=typed,
        user=user,
        method="totp" if user.totp_enrolled else "password",
        outcome="succeeded",
        source=source,
    )
    return user


def _lock_out(session: Session, *, user: User, clock: Clock, source: str) -> None:
    now = clock.now()
    user.locked_until = now + LOCKOUT_DURATION
    user.failures_reset_at = now
    session.flush()
    context = Context(actor="system")
    _auth_event(
        session,
        clock=clock,
        username=user.username,
        user=user,
        method="password",
        outcome="locked",
        source=source,
        context=context,
    )
    minutes = int(LOCKOUT_DURATION.total_seconds() // 60)
    stage(
        session,
        make_event(
            EVENT_ALARM_RAISED,
            AlarmPayload(
                alarm_type="account_lockout",
                priority=2,
                message=(
                    f"Account {user.username} locked for {minutes} min after "
                    f"{LOCKOUT_THRESHOLD} failed sign-ins (last from {source or 'unknown'})"
                ),
            ),
            context=context.child(),
            time=now,
        ),
    )


# --- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    """A started session: the cookie token and CSRF token (never stored in clear)."""

    token: str
    csrf_token: str
    record: UserSession


def csrf_token_for(session_token: str) -> str:
    """Return the CSRF token bound to a session token (keyed hash; nothing to store)."""
    return crypto.keyring().keyed_hash(session_token, purpose="bastion/csrf/v1")


def start_session(
    *, session: Session, user: User, clock: Clock, max_hours: int, source: str = ""
) -> NewSession:
    """Open a console session for ``user``; only the token's SHA-256 is stored."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id,
        token_hash=sha256_hex(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=max_hours),
        source=source[:64],
    )
    session.add(record)
    session.flush()
    return NewSession(token=token, csrf_token=csrf_token_for(token), record=record)


def _live_session(session: Session, token: str) -> UserSession | None:
    record = session.execute(
        select(UserSession).where(UserSession.token_hash == sha256_hex(token))
    ).scalar_one_or_none()
    if record is None or record.ended_at is not None:
        return None
    return record


def resolve_session(
    *,
    session: Session,
    token: str,
    clock: Clock,
    idle_minutes: int,
    touch_after: timedelta = timedelta(seconds=60),
) -> tuple[UserSession, User]:
    """Return the live session and its user; raise Unauthorized when ended or expired.

    The idle clock restarts on use; ``last_seen_at`` is written at most once per
    ``touch_after`` so that polling consoles do not write on every request.
    """
    now = clock.now()
    record = _live_session(session, token)
    if record is None:
        raise Unauthorized(SESSION_INVALID)
    if now >= record.expires_at or now - record.last_seen_at >= timedelta(minutes=idle_minutes):
        raise Unauthorized(SESSION_INVALID)
    user = session.get(User, record.user_id)
    if user is None or user.disabled:
        raise Unauthorized(SESSION_INVALID)
    if now - record.last_seen_at >= touch_after:
        record.last_seen_at = now
        session.flush()
    return record, user


def end_session(*, session: Session, token: str, clock: Clock, source: str = "") -> bool:
    """Sign out: end the session holding ``token``; stage the sign-out. Return whether it was live."""
    record = _live_session(session, token)
    if record is None:
        return False
    record.ended_at = clock.now()
    record.end_reason = "logout"
    user = session.get(User, record.user_id)
    session.flush()
    if user is not None:
        _auth_event(
            session,
            clock=clock,
            username=user.username,
            user=user,
            method="session",
            outcome="logged_out",
            source=source,
        )
    return True


def end_sessions_for(*, session: Session, user: User, clock: Clock, reason: str = "ended") -> int:
    """End every live session of ``user`` (offboarding, disable, password reset); return how many."""
    now = clock.now()
    rows = session.execute(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ).scalars()
    count = 0
    for row in rows:
        row.ended_at = now
        row.end_reason = reason[:32]
        count += 1
    session.flush()
    return count


# --- API tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiToken:
    """A minted API token: the plaintext is shown once and never stored."""

    token: str
    record: ApiToken


def create_api_token(
    *,
    session: Session,
    owner: User,
    name: str,
    role: Role,
    clock: Clock,
    context: Context,
    site_id: str | None = None,
    expires_at: datetime | None = None,
    authority: Authority = None,
) -> NewApiToken:
    """Mint a token acting as ``role`` (at ``site_id``) for an integration owned by ``owner``."""
    now = clock.now()
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token needs a name of 1-100 characters")
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidInput("the expiry must carry a time zone")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("the expiry must be in the future")
    if owner.disabled:
        raise Conflict(f"user {owner.username} is disabled")
    _ensure_may_hold(authority, role, site_id)
    if not covers(grants_of(owner), role, site_id):
        raise Forbidden(f"user {owner.username} does not hold {role.value} at that scope")
    secret = secrets.token_urlsafe(32)
    record = ApiToken(
        name=name,
        owner_id=owner.id,
        role=role.value,
        site_id=site_id,
        secret_hash=sha256_hex(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    detail = {
        "name": name,
        "role": role.value,
        "site": site_id or "*",
        "owner": f"user:{owner.id}",
        "expires_at": expires_at.isoformat() if expires_at else "never",
    }
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="token.create",
        target=f"token:{record.id}",
        detail=detail,
    )
    return NewApiToken(token=f"{TOKEN_PREFIX}_{record.id}_{secret}", record=record)


def parse_api_token(token: str) -> tuple[int, str] | None:
    """Split ``bst_<id>_<secret>`` into id and secret, or return None."""
    prefix, _, rest = token.partition("_")
    ident, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not ident.isdigit() or not secret or len(ident) > 18:
        return None
    return int(ident), secret


def resolve_api_token(
    *,
    session: Session,
    token: str,
    clock: Clock,
    touch_after: timedelta = timedelta(seconds=60),
) -> tuple[ApiToken, User]:
    """Return the live token and its owner; raise Unauthorized when unknown, revoked or expired.

    A token also stops working when its owner is disabled or no longer holds its role.
    """
    parsed = parse_api_token(token)
    if parsed is None:
        raise Unauthorized(TOKEN_INVALID)
    ident, secret = parsed
    record = session.get(ApiToken, ident)
    if record is None or not hmac.compare_digest(record.secret_hash, sha256_hex(secret)):
        raise Unauthorized(TOKEN_INVALID)
    now = clock.now()
    if record.revoked_at is not None or (
        record.expires_at is not None and now >= record.expires_at
    ):
        raise Unauthorized(TOKEN_INVALID)
    owner = session.get(User, record.owner_id)
    if owner is None or owner.disabled:
        raise Unauthorized(TOKEN_INVALID)
    if not covers(grants_of(owner), Role(record.role), record.site_id):
        raise Unauthorized(TOKEN_INVALID)
    if record.last_used_at is None or now - record.last_used_at >= touch_after:
        record.last_used_at = now
        session.flush()
    return record, owner


def list_api_tokens(*, session: Session, owner: User | None = None) -> list[ApiToken]:
    """Return tokens (of ``owner`` when given), newest first."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if owner is not None:
        stmt = stmt.where(ApiToken.owner_id == owner.id)
    return list(session.execute(stmt).scalars())


def revoke_api_token(
    *,
    session: Session,
    token_id: int,
    clock: Clock,
    context: Context,
    authority: Authority = None,
) -> ApiToken:
    """Revoke a token; stage ``token.revoke``. Revoking twice is a Conflict."""
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound(f"no API token with id {token_id}")
    _ensure_may_hold(authority, Role(record.role), record.site_id)
    if record.revoked_at is not None:
        raise Conflict(f"API token {token_id} is already revoked")
    record.revoked_at = clock.now()
    session.flush()
    _admin_event(
        session,
        context=context,
        clock=clock,
        action="token.revoke",
        target=f"token:{record.id}",
        detail={"name": record.name, "owner": f"user:{record.owner_id}"},
    )
    return record


def _revoke_tokens_of(session: Session, *, user: User, clock: Clock) -> int:
    now = clock.now()
    count = 0
    for record in list_api_tokens(session=session, owner=user):
        if record.revoked_at is None:
            record.revoked_at = now
            count += 1
    session.flush()
    return count


def describe(user: User) -> dict[str, Any]:
    """Return non-secret facts about ``user`` for logs and CLI tables."""
    return {
        "id": user.id,
        "username": user.username,
        "roles": [g.label() for g in grants_of(user)],
        "totp": user.totp_enrolled,
        "disabled": user.disabled,
    }
