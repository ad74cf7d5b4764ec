"""API shapes for sign-in, accounts, role grants and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bastion.auth.models import ApiToken, User
from bastion.auth.permissions import Grant, Role
from bastion.auth.service import grants_of
from bastion.core.errors import InvalidInput


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Strict):
    """The three sign-in factors."""

    username: str = Field(max_length=256, title="User name", description="Account name.")
    password: str = Field(max_length=1024, title="Password", description="Account password.")
    totp: str | None = Field(
        default=None,
        max_length=16,
        title="Authenticator code",
        description="Six-digit TOTP code; required for MFA roles and enrolled accounts.",
    )


class GrantRead(BaseModel):
    """A role held at one site (or some of its zones) or every site."""

    role: Role = Field(description="Role name.")
    site_id: str | None = Field(default=None, description="Site id, or null for every site.")
    zone_ids: list[str] | None = Field(
        default=None, description="Zones the role acts in, or null for the whole site."
    )

    @classmethod
    def of(cls, grant: Grant) -> GrantRead:
        """Convert a grant."""
        zones = sorted(grant.zone_ids) if grant.zone_ids is not None else None
        return cls(role=grant.role, site_id=grant.site_id, zone_ids=zones)


class GrantCreate(_Strict):
    """A role to grant."""

    role: Role = Field(title="Role", description="Role name.")
    site_id: str | None = Field(
        default=None, max_length=63, title="Site", description="Site id, or null for every site."
    )
    zone_ids: list[Annotated[str, Field(min_length=1, max_length=63)]] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        title="Zones",
        description="Only these zones of the site (reads still cover the whole site); null: all.",
    )

    def grant(self) -> Grant:
        """Return the grant asked for; raise InvalidInput for zones without a site."""
        try:
            return Grant(self.role, self.site_id, frozenset(self.zone_ids or ()) or None)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None


class UserRead(BaseModel):
    """An account as the API shows it (no secrets)."""

    id: int = Field(description="Account id.")
    username: str = Field(description="User name.")
    display_name: str = Field(description="Name shown in the console.")
    disabled: bool = Field(description="True when the account cannot sign in.")
    totp_enrolled: bool = Field(description="True when an authenticator is enrolled.")
    roles: list[GrantRead] = Field(description="Roles and their scopes.")
    created_at: datetime = Field(description="When the account was created.")
    last_login_at: datetime | None = Field(description="Last successful sign-in.")
    locked_until: datetime | None = Field(description="Locked out until then, if locked.")

    @classmethod
    def of(cls, user: User) -> UserRead:
        """Convert an account row."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            disabled=user.disabled,
            totp_enrolled=user.totp_enrolled,
            roles=[GrantRead.of(g) for g in grants_of(user)],
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            locked_until=user.locked_until,
        )


class UserCreate(_Strict):
    """A new account."""

    username: str = Field(max_length=64, title="User name", description="2-64 characters.")
    password: str = Field(max_length=1024, title="Password", description="At least 12 characters.")
    display_name: str = Field(
        default="", max_length=200, title="Display name", description="Name shown in the console."
    )
    roles: list[GrantCreate] = Field(
        default_factory=list, title="Roles", description="Roles to grant."
    )


class LoginResponse(BaseModel):
    """The signed-in account and the CSRF token to send with unsafe requests."""

    user: UserRead = Field(description="Signed-in account.")
    csrf_token: str = Field(description="Send as X-CSRF-Token on POST/PUT/PATCH/DELETE.")


class MeRead(BaseModel):
    """Who the caller is."""

    user: UserRead = Field(description="Account.")
    method: str = Field(description="session or token.")
    roles: list[GrantRead] = Field(description="Roles in force for this request.")
    csrf_token: str | None = Field(description="CSRF token of a cookie session.")


class TotpEnrolmentRead(BaseModel):
    """A new authenticator secret, shown once."""

    secret: str = Field(description="Base32 TOTP secret.")
    provisioning_uri: str = Field(description="otpauth:// URI for authenticator apps.")


class ApiTokenRead(BaseModel):
    """An API token without its secret."""

    id: int = Field(description="Token id.")
    name: str = Field(description="What the token is for.")
    owner_id: int = Field(description="Account accountable for the token.")
    role: Role = Field(description="Role the token acts as.")
    site_id: str | None = Field(description="Site scope, or null for every site.")
    created_at: datetime = Field(description="When it was minted.")
    expires_at: datetime | None = Field(description="When it stops working.")
    last_used_at: datetime | None = Field(description="Last authenticated use.")
    revoked_at: datetime | None = Field(description="When it was revoked.")

    @classmethod
    def of(cls, record: ApiToken) -> ApiTokenRead:
        """Convert a token row."""
        return cls(
            id=record.id,
            name=record.name,
            owner_id=record.owner_id,
            role=Role(record.role),
            site_id=record.site_id,
            created_at=record.created_at,
            expires_at=record.expires_at,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )


class ApiTokenCreate(_Strict):
    """A token to mint."""

    name: str = Field(max_length=100, title="Name", description="What the token is for.")
    role: Role = Field(title="Role", description="Role the token acts as.")
    site_id: str | None = Field(
        default=None, max_length=63, title="Site", description="Site scope, or null for all."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, title="Expiry", description="Aware UTC time, or null for no expiry."
    )


class ApiTokenCreated(BaseModel):
    """A minted token: the plaintext appears here once and is never shown again."""

    token: str = Field(description="The bearer token, bst_<id>_<secret>.")
    record: ApiTokenRead = Field(description="The stored token.")
