"""Enrolment: a shop customer joins the programme (with a referral code and the signup bonus)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from loyalty import db
from loyalty.codes import random_code
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.members import referrals
from loyalty.programme import actions
from loyalty.settings import Settings
from models import Action, Member

REFERRAL_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class EnrollInput:
    external_id: str
    email: str
    name: str | None = None
    birthday: date | None = None
    referral_code: str | None = None


def normalize_email(email: str) -> str:
    """Lower-case, drop a +tag, and drop dots for providers that ignore them ("" stays "")."""
    if not email.strip():
        return ""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def new_referral_code() -> str:
    """A member's referral code: ``REFERRAL_LENGTH`` symbols of the code alphabet."""
    return random_code(REFERRAL_LENGTH)


def _validate(data: EnrollInput) -> None:
    if not data.external_id or not data.external_id.strip() or len(data.external_id) > 255:
        raise InvalidInput("externalId must be 1 to 255 characters", field="externalId")
    email = data.email.strip()
    # Shops have customers without an e-mail (phone-only, in-store); they may join too, but
    # the referral abuse rules are keyed on the e-mail, so a referral needs one.
    if email and (len(data.email) > 320 or not _EMAIL.match(email)):
        raise InvalidInput(
            "email is not a valid address", field="email", code=ErrorCode.INVALID_EMAIL
        )
    if not email and data.referral_code:
        raise InvalidInput(
            "a referral needs an e-mail", field="email", code=ErrorCode.INVALID_EMAIL
        )
    if data.name is not None and len(data.name) > 255:
        raise InvalidInput("name is longer than 255 characters", field="name")
    if data.birthday is not None and data.birthday > date.today():
        raise InvalidInput("birthday is in the future", field="birthday")


async def enroll(data: EnrollInput, settings: Settings) -> Member:
    """Create a member (with its referral bonus when a valid referral code is given).

    An externalId that is already enrolled is refused; so is a referral code that is unknown
    or that would refer the referrer itself.
    """
    _validate(data)
    external_id = data.external_id.strip()
    email_normalized = normalize_email(data.email)
    if await Member.exists(external_id=external_id):
        raise InvalidInput(
            "a member with this externalId is already enrolled",
            field="externalId",
            code=ErrorCode.ALREADY_ENROLLED,
        )
    referrer = (
        await referrals.referrer_for(data.referral_code, email_normalized)
        if data.referral_code
        else None
    )

    async def write(conn: BaseDBAsyncClient) -> Member:
        member = await Member.create(
            external_id=external_id,
            email=data.email.strip(),
            email_normalized=email_normalized,
            name=data.name,
            birthday=data.birthday,
            referral_code=new_referral_code(),
            referred_by_id=referrer.id if referrer else None,
            using_db=conn,
        )
        if referrer is not None:
            await referrals.welcome(conn, settings, member)
        await actions.award(conn, settings, member.id, Action.SIGNUP, "signup", datetime.now(UTC))
        return member

    for _ in range(5):
        try:
            member = await db.atomic(write)
            await member.refresh_from_db()
            return member
        except IntegrityError:
            if await Member.exists(external_id=external_id):
                raise InvalidInput(
                    "a member with this externalId is already enrolled",
                    field="externalId",
                    code=ErrorCode.ALREADY_ENROLLED,
                ) from None
            # A referral code collision (31^8 codes): draw another.
    raise RuntimeError("could not draw a unique referral code")


async def update_contact(external_id: str, email: str, name: str | None) -> bool:
    """Bring a member's e-mail and name in line with the shop's customer record; whether
    anything changed. An empty e-mail or name keeps the one held (a shop that stops sending a
    field has not asked to erase it). Unknown members are refused."""
    _validate(EnrollInput(external_id=external_id, email=email, name=name))
    member = await Member.get_or_none(external_id=external_id.strip())
    if member is None:
        raise NotFound("no member with this externalId", field="externalId")
    changes: dict[str, str] = {}
    if email.strip() and email.strip() != member.email:
        changes |= {"email": email.strip(), "email_normalized": normalize_email(email)}
    if name and name != member.name:
        changes["name"] = name
    if changes:
        await Member.filter(id=member.id).update(**changes)
    return bool(changes)
