import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select, text

from bastion.auth import service
from bastion.auth.models import User
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from bastion.core.events import EVENT_ADMIN_ACTION, EVENT_ALARM_RAISED, EVENT_AUTH

CTX = Context(actor="user:0")
PASSWORD = "correct horse battery staple"  # the make_account default


def _sign_in(database, clock, username, password, totp=None, source="10.0.0.7"):
    """Run authenticate in a unit of work that commits even when sign-in fails."""
    failure = None
    with database.unit_of_work() as session:
        try:
            user = service.authenticate(
                session=session,
                username=username,
                password=password,
                totp=totp,
                source=source,
                clock=clock,
            )
            return user.id
        except service.LoginFailed as exc:
            failure = exc
    raise failure


def _load(database, user_id):
    with database.sessions() as session:
        return session.get(User, user_id)


def _dump_database(database) -> str:
    """Return every value of every table as one string."""
    parts = []
    with database.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


# --- passwords ---------------------------------------------------------------------------


def test_password_hash_is_argon2id_and_verifies():
    digest = service.hash_password(PASSWORD)
    assert digest.startswith("$argon2id$")
    assert service.verify_password(digest, PASSWORD)
    assert not service.verify_password(digest, PASSWORD + "x")
    assert not service.verify_password("not a hash", PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "match"),
    [
        ("alice", "short", "at least 12"),
        ("alice.smith1", "Alice.Smith1", "user name"),
        ("a", PASSWORD, "user name has"),
        ("bad name", PASSWORD, "user name has"),
    ],
)
def test_policy_rejects_weak_passwords_and_bad_names(database, clock, username, password, match):
    with database.unit_of_work() as session, pytest.raises(InvalidInput, match=match):
        service.create_user(
            session=session, username=username, password=password, clock=clock, context=CTX
        )


def test_duplicate_user_names_conflict_case_insensitively(make_account, database, clock):
    make_account("alice", Role.OPERATOR)
    with database.unit_of_work() as session, pytest.raises(Conflict):
        service.create_user(
            session=session, username="ALICE", password=PASSWORD, clock=clock, context=CTX
        )


def test_login_rehashes_when_parameters_change(make_account, database, clock):
    acct = make_account("bob", Role.OPERATOR)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with database.unit_of_work() as session:
        session.get(User, acct.id).password_hash = weak
    _sign_in(database, clock, "bob", PASSWORD)
    stored = _load(database, acct.id).password_hash
    assert stored != weak
    assert stored.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(stored)


# --- sign-in -----------------------------------------------------------------------------


def test_operator_signs_in_with_password_only(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    assert _sign_in(database, clock, "Olga ", PASSWORD) == acct.id
    assert _load(database, acct.id).last_login_at == clock.now()


def test_admin_signs_in_with_password_and_totp(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    assert _sign_in(database, clock, "root", PASSWORD, acct.code(clock)) == acct.id


def test_every_failure_looks_the_same(make_account, database, clock):
    admin = make_account("root", Role.ADMIN)
    make_account("nototp", Role.SECURITY_MANAGER, totp=False)
    make_account("gone", Role.OPERATOR)
    with database.unit_of_work() as session:
        service.disable_user(
            session=session,
            user=service.get_user_by_name(session=session, username="gone"),
            clock=clock,
            context=CTX,
        )
    good = admin.code(clock)
    _sign_in(database, clock, "root", PASSWORD, good)
    clock.advance(1)
    attempts = {
        "wrong password": ("root", "wrong password!!", admin.code(clock, offset_steps=1)),
        "wrong totp": ("root", PASSWORD, "000000" if good != "000000" else "111111"),
        "replayed totp": ("root", PASSWORD, good),
        "missing totp": ("root", PASSWORD, None),
        "mfa role without enrolment": ("nototp", PASSWORD, None),
        "unknown user": ("nobody", PASSWORD, None),
        "disabled": ("gone", PASSWORD, None),
    }
    messages = set()
    for why, (user, password, code) in attempts.items():
        with pytest.raises(Unauthorized) as info:
            _sign_in(database, clock, user, password, code)
        messages.add(info.value.message)
        assert "password" not in type(info.value).__name__.lower(), why
    assert messages == {service.SIGN_IN_FAILED}


def test_replayed_totp_code_is_rejected_even_with_right_password(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    code = acct.code(clock)
    _sign_in(database, clock, "root", PASSWORD, code)
    clock.advance(5)
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "root", PASSWORD, code)
    # The next time step is fine.
    clock.advance(30)
    _sign_in(database, clock, "root", PASSWORD, acct.code(clock))


def test_totp_accepts_one_step_of_drift_but_not_two(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    _sign_in(database, clock, "root", PASSWORD, acct.code(clock, offset_steps=-1))
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "root", PASSWORD, acct.code(clock, offset_steps=2))


def test_auth_events_name_the_user_but_never_a_secret(make_account, database, ledger, clock):
    acct = make_account("root", Role.ADMIN)
    code = acct.code(clock)
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "root", "Wrong-password-123", None)
    _sign_in(database, clock, "root", PASSWORD, code)
    rows = ledger.query(types=[EVENT_AUTH.name], newest_first=False)
    outcomes = [(json.loads(r.payload)["outcome"], json.loads(r.payload)["method"]) for r in rows]
    assert outcomes == [("failed", "password"), ("succeeded", "totp")]
    assert all(r.subject == f"user:{acct.id}" for r in rows)
    everything = " ".join(r.payload for r in ledger.query(limit=1000))
    for secret in (PASSWORD, "Wrong-password-123", code, acct.totp_secret):
        assert secret not in everything
        assert secret not in _dump_database(database)


# --- lock-out ----------------------------------------------------------------------------


def test_lockout_after_five_failures_holds_then_lifts(make_account, database, ledger, clock):
    acct = make_account("root", Role.ADMIN)
    for _ in range(4):
        with pytest.raises(service.LoginFailed):
            _sign_in(database, clock, "root", "Wrong-password-123", acct.code(clock))
        clock.advance(60)
    assert _load(database, acct.id).locked_until is None
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "root", "Wrong-password-123", acct.code(clock))
    locked_at = clock.now()
    assert _load(database, acct.id).locked_until == locked_at + timedelta(minutes=15)

    # Right password and code, still locked: same generic failure.
    clock.advance(60)
    with pytest.raises(service.LoginFailed) as info:
        _sign_in(database, clock, "root", PASSWORD, acct.code(clock))
    assert info.value.message == service.SIGN_IN_FAILED

    clock.set(locked_at + timedelta(minutes=15))
    assert _sign_in(database, clock, "root", PASSWORD, acct.code(clock)) == acct.id

    auth = [
        json.loads(r.payload)["outcome"]
        for r in ledger.query(types=[EVENT_AUTH.name], newest_first=False)
    ]
    assert auth == ["failed"] * 5 + ["locked", "rejected_locked", "succeeded"]
    alarms = ledger.query(types=[EVENT_ALARM_RAISED.name])
    assert len(alarms) == 1
    alarm = json.loads(alarms[0].payload)
    assert alarm["alarm_type"] == "account_lockout"
    assert alarm["priority"] == 2
    assert "root" in alarm["message"]
    assert ledger.verify().ok


def test_failures_outside_the_window_do_not_lock(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    for _ in range(4):
        with pytest.raises(service.LoginFailed):
            _sign_in(database, clock, "olga", "Wrong-password-123")
    clock.advance(16 * 60)
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "olga", "Wrong-password-123")
    assert _load(database, acct.id).locked_until is None
    assert _sign_in(database, clock, "olga", PASSWORD) == acct.id


def test_success_resets_the_failure_count(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    for _ in range(4):
        with pytest.raises(service.LoginFailed):
            _sign_in(database, clock, "olga", "Wrong-password-123")
    _sign_in(database, clock, "olga", PASSWORD)
    for _ in range(4):
        with pytest.raises(service.LoginFailed):
            _sign_in(database, clock, "olga", "Wrong-password-123")
    assert _load(database, acct.id).locked_until is None


def test_password_reset_clears_a_lockout(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    for _ in range(5):
        with pytest.raises(service.LoginFailed):
            _sign_in(database, clock, "olga", "Wrong-password-123")
    with database.unit_of_work() as session:
        service.set_password(
            session=session,
            user=session.get(User, acct.id),
            password="a brand new passphrase",
            clock=clock,
            context=CTX,
        )
    assert _sign_in(database, clock, "olga", "a brand new passphrase") == acct.id


# --- sessions ----------------------------------------------------------------------------


def _start(database, clock, user_id, max_hours=12):
    with database.unit_of_work() as session:
        return service.start_session(
            session=session, user=session.get(User, user_id), clock=clock, max_hours=max_hours
        ).token


def _resolve(database, clock, token, idle=15):
    with database.unit_of_work() as session:
        _record, user = service.resolve_session(
            session=session, token=token, clock=clock, idle_minutes=idle
        )
        return user.id


def test_session_token_is_stored_only_as_sha256(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    token = _start(database, clock, acct.id)
    dump = _dump_database(database)
    assert token not in dump
    assert service.sha256_hex(token) in dump
    assert service.csrf_token_for(token) not in dump
    assert _resolve(database, clock, token) == acct.id
    with pytest.raises(Unauthorized):
        _resolve(database, clock, token + "x")


def test_session_idle_timeout_restarts_on_use(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    token = _start(database, clock, acct.id)
    for _ in range(5):
        clock.advance(14 * 60)
        assert _resolve(database, clock, token) == acct.id
    clock.advance(15 * 60)
    with pytest.raises(Unauthorized):
        _resolve(database, clock, token)


def test_session_absolute_lifetime(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    token = _start(database, clock, acct.id, max_hours=1)
    for _ in range(5):
        clock.advance(11 * 60)
        assert _resolve(database, clock, token) == acct.id
    clock.advance(5 * 60)
    with pytest.raises(Unauthorized):
        _resolve(database, clock, token)


def test_sign_out_and_end_sessions_for(make_account, database, ledger, clock):
    acct = make_account("olga", Role.OPERATOR)
    first, second, third = (_start(database, clock, acct.id) for _ in range(3))
    with database.unit_of_work() as session:
        assert service.end_session(session=session, token=first, clock=clock)
        assert not service.end_session(session=session, token=first, clock=clock)
    with pytest.raises(Unauthorized):
        _resolve(database, clock, first)
    assert _resolve(database, clock, second) == acct.id
    with database.unit_of_work() as session:
        ended = service.end_sessions_for(
            session=session, user=session.get(User, acct.id), clock=clock
        )
    assert ended == 2
    for token in (second, third):
        with pytest.raises(Unauthorized):
            _resolve(database, clock, token)
    outcome = json.loads(ledger.query(types=[EVENT_AUTH.name])[0].payload)["outcome"]
    assert outcome == "logged_out"


def test_disabled_users_sessions_stop_working(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    token = _start(database, clock, acct.id)
    with database.unit_of_work() as session:
        service.disable_user(
            session=session, user=session.get(User, acct.id), clock=clock, context=CTX
        )
    with pytest.raises(Unauthorized):
        _resolve(database, clock, token)


# --- API tokens --------------------------------------------------------------------------


def _mint(database, clock, owner_id, role=Role.OPERATOR, **kwargs):
    with database.unit_of_work() as session:
        new = service.create_api_token(
            session=session,
            owner=session.get(User, owner_id),
            name="vms bridge",
            role=role,
            clock=clock,
            context=CTX,
            **kwargs,
        )
        return new.token, new.record.id


def _use(database, clock, token):
    with database.unit_of_work() as session:
        record, owner = service.resolve_api_token(session=session, token=token, clock=clock)
        return record.id, owner.id


def test_api_token_is_hashed_at_rest_and_works(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    token, token_id = _mint(database, clock, acct.id, site_id="dispensary")
    assert token.startswith(f"bst_{token_id}_")
    secret = token.split("_", 2)[2]
    dump = _dump_database(database)
    assert token not in dump and secret not in dump
    assert _use(database, clock, token) == (token_id, acct.id)
    with database.sessions() as session:
        record = service.list_api_tokens(session=session)[0]
        assert record.last_used_at == clock.now()
        assert record.site_id == "dispensary"


@pytest.mark.parametrize(
    "bad", ["", "bst_", "bst_x_y", "xyz_1_abc", "bst_1_", "bst_999_abc", "Bearer bst_1_abc"]
)
def test_malformed_or_unknown_tokens_are_rejected(make_account, database, clock, bad):
    make_account("root", Role.ADMIN)
    with pytest.raises(Unauthorized):
        _use(database, clock, bad)


def test_wrong_secret_for_a_real_token_id_is_rejected(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    _token, token_id = _mint(database, clock, acct.id)
    with pytest.raises(Unauthorized):
        _use(database, clock, f"bst_{token_id}_{'A' * 43}")


def test_revoked_and_expired_tokens_are_rejected(make_account, database, clock):
    acct = make_account("root", Role.ADMIN)
    revoked, revoked_id = _mint(database, clock, acct.id)
    expiring, _ = _mint(database, clock, acct.id, expires_at=clock.now() + timedelta(hours=1))
    with database.unit_of_work() as session:
        service.revoke_api_token(session=session, token_id=revoked_id, clock=clock, context=CTX)
    with pytest.raises(Unauthorized):
        _use(database, clock, revoked)
    _use(database, clock, expiring)
    clock.advance(3600)
    with pytest.raises(Unauthorized):
        _use(database, clock, expiring)
    with database.unit_of_work() as session, pytest.raises(Conflict):
        service.revoke_api_token(session=session, token_id=revoked_id, clock=clock, context=CTX)
    with database.unit_of_work() as session, pytest.raises(NotFound):
        service.revoke_api_token(session=session, token_id=9999, clock=clock, context=CTX)


def test_token_dies_with_its_owner_or_the_owners_role(make_account, database, clock):
    acct = make_account("sam", Role.OPERATOR)
    token, _ = _mint(database, clock, acct.id)
    _use(database, clock, token)
    with database.unit_of_work() as session:
        service.revoke_role(
            session=session,
            user=session.get(User, acct.id),
            role=Role.OPERATOR,
            clock=clock,
            context=CTX,
        )
    with pytest.raises(Unauthorized):
        _use(database, clock, token)
    other = make_account("ann", Role.OPERATOR)
    token, _ = _mint(database, clock, other.id)
    with database.unit_of_work() as session:
        service.disable_user(
            session=session, user=session.get(User, other.id), clock=clock, context=CTX
        )
    with pytest.raises(Unauthorized):
        _use(database, clock, token)


def test_token_cannot_exceed_its_owner(make_account, database, clock):
    acct = make_account("sam", Role.OPERATOR, site_id="dispensary")
    with pytest.raises(Forbidden):
        _mint(database, clock, acct.id, role=Role.ADMIN)
    with pytest.raises(Forbidden):
        _mint(database, clock, acct.id, role=Role.OPERATOR, site_id="cultivation")
    with pytest.raises(InvalidInput):
        _mint(database, clock, acct.id, site_id="dispensary", expires_at=clock.now())
    _mint(database, clock, acct.id, site_id="dispensary")


# --- roles and admin actions -------------------------------------------------------------


def test_non_admins_cannot_escalate(make_account, database, clock):
    manager = make_account("mgr", Role.SECURITY_MANAGER, site_id="dispensary")
    target = make_account("olga", Role.OPERATOR, site_id="dispensary")
    root_id = make_account("root", Role.ADMIN).id
    authority = (Grant(Role.SECURITY_MANAGER, "dispensary"),)
    with database.unit_of_work() as session:
        user = session.get(User, target.id)
        for role, site in (
            (Role.ADMIN, None),
            (Role.OPERATOR, None),
            (Role.OPERATOR, "cultivation"),
        ):
            with pytest.raises(Forbidden):
                service.grant_role(
                    session=session,
                    user=user,
                    role=role,
                    site_id=site,
                    clock=clock,
                    context=CTX,
                    authority=authority,
                )
        service.grant_role(
            session=session,
            user=user,
            role=Role.AUDITOR,
            site_id="dispensary",
            clock=clock,
            context=CTX,
            authority=authority,
        )
        # A manager cannot disable or reset someone holding more than they do.
        root = session.get(User, root_id)
        with pytest.raises(Forbidden):
            service.disable_user(
                session=session, user=root, clock=clock, context=CTX, authority=authority
            )
        with pytest.raises(Forbidden):
            service.reset_totp(
                session=session, user=root, clock=clock, context=CTX, authority=authority
            )
        with pytest.raises(Forbidden):
            service.create_user(
                session=session,
                username="evil",
                password=PASSWORD,
                grants=[Grant(Role.ADMIN)],
                clock=clock,
                context=CTX,
                authority=authority,
            )
    assert manager.id


def test_grant_and_revoke_roles(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    with database.unit_of_work() as session:
        user = session.get(User, acct.id)
        service.grant_role(
            session=session, user=user, role=Role.HR, site_id="dispensary", clock=clock, context=CTX
        )
        with pytest.raises(Conflict):
            service.grant_role(
                session=session,
                user=user,
                role=Role.HR,
                site_id="dispensary",
                clock=clock,
                context=CTX,
            )
    with database.sessions() as session:
        grants = service.grants_of(session.get(User, acct.id))
    assert set(grants) == {Grant(Role.OPERATOR), Grant(Role.HR, "dispensary")}
    with database.unit_of_work() as session:
        user = session.get(User, acct.id)
        with pytest.raises(NotFound):
            service.revoke_role(session=session, user=user, role=Role.HR, clock=clock, context=CTX)
        service.revoke_role(
            session=session, user=user, role=Role.HR, site_id="dispensary", clock=clock, context=CTX
        )
    with database.sessions() as session:
        assert service.grants_of(session.get(User, acct.id)) == (Grant(Role.OPERATOR),)


def test_every_admin_action_lands_in_the_ledger(make_account, database, ledger, clock):
    root = make_account("root", Role.ADMIN)
    actor = Context(actor=f"user:{root.id}")
    with database.unit_of_work() as session:
        user = service.create_user(
            session=session,
            username="olga",
            password=PASSWORD,
            grants=[Grant(Role.OPERATOR)],
            clock=clock,
            context=actor,
        )
        service.grant_role(session=session, user=user, role=Role.HR, clock=clock, context=actor)
        service.revoke_role(session=session, user=user, role=Role.HR, clock=clock, context=actor)
        service.set_password(
            session=session,
            user=user,
            password="another long passphrase",
            clock=clock,
            context=actor,
        )
        service.reset_totp(session=session, user=user, clock=clock, context=actor)
        new = service.create_api_token(
            session=session,
            owner=user,
            name="bridge",
            role=Role.OPERATOR,
            clock=clock,
            context=actor,
        )
        service.revoke_api_token(
            session=session, token_id=new.record.id, clock=clock, context=actor
        )
        service.disable_user(session=session, user=user, clock=clock, context=actor)
        user_id = user.id
    rows = [
        r
        for r in ledger.query(types=[EVENT_ADMIN_ACTION.name], newest_first=False, limit=100)
        if r.actor == actor.actor
    ]
    actions = [json.loads(r.payload)["action"] for r in rows]
    assert actions == [
        "user.create",
        "role.grant",
        "role.grant",
        "role.revoke",
        "user.password_reset",
        "user.totp_reset",
        "token.create",
        "token.revoke",
        "user.disable",
    ]
    assert json.loads(rows[0].payload)["target"] == f"user:{user_id}"
    assert json.loads(rows[0].payload)["detail"] == {"username": "olga"}
    everything = " ".join(r.payload for r in rows)
    assert PASSWORD not in everything and "another long passphrase" not in everything
    assert new.token not in everything
    assert ledger.verify().ok


def test_failed_admin_action_leaves_nothing_behind(make_account, database, ledger, clock):
    make_account("olga", Role.OPERATOR)
    before = ledger.count()
    with pytest.raises(Conflict), database.unit_of_work() as session:
        service.create_user(
            session=session,
            username="newbie",
            password=PASSWORD,
            grants=[Grant(Role.HR)],
            clock=clock,
            context=CTX,
        )
        service.create_user(
            session=session, username="olga", password=PASSWORD, clock=clock, context=CTX
        )
    assert ledger.count() == before
    with database.sessions() as session:
        assert service.find_user(session=session, username="newbie") is None


# --- TOTP at rest ------------------------------------------------------------------------


def test_totp_secret_is_encrypted_at_rest(make_account, database, keyring):
    acct = make_account("root", Role.ADMIN)
    with database.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT totp_secret FROM users WHERE id = :i"), {"i": acct.id}
        ).scalar_one()
    assert raw and acct.totp_secret not in raw
    assert keyring.decrypt(raw) == acct.totp_secret
    with database.sessions() as session:
        assert session.execute(select(User.totp_secret)).scalar_one() == acct.totp_secret


def test_enrolment_uri_names_the_issuer_and_account(make_account, database, clock):
    acct = make_account("olga", Role.OPERATOR)
    with database.unit_of_work() as session:
        enrolment = service.enrol_totp(
            session=session, user=session.get(User, acct.id), clock=clock, context=CTX
        )
    assert enrolment.provisioning_uri.startswith("otpauth://totp/Bastion:olga?")
    assert f"secret={enrolment.secret}" in enrolment.provisioning_uri
    # Enrolled accounts need the code from now on, even in a role without mandatory MFA.
    with pytest.raises(service.LoginFailed):
        _sign_in(database, clock, "olga", PASSWORD)
