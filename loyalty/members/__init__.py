"""Members: enrolment and lookup, tokens, referrals, statements and reminders."""

from loyalty.members.enrolment import (
    EnrollInput,
    enroll,
    new_referral_code,
    normalize_email,
    update_contact,
)
from loyalty.members.lookup import Account, account, by_external_id, get, page, search

__all__ = [
    "Account",
    "EnrollInput",
    "account",
    "by_external_id",
    "enroll",
    "get",
    "new_referral_code",
    "normalize_email",
    "page",
    "search",
    "update_contact",
]
