"""What a platform's delivery asks of the programme, in the domain's own inputs, and what
became of it. The platform modules build commands; ``apply`` carries them out."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.members import EnrollInput
from loyalty.orders import OrderInput, ProductInput, RefundInput
from models import InboxStatus


@dataclass(frozen=True)
class Enrol:
    """A shop customer joins (nothing happens when it is already a member)."""

    member: EnrollInput


@dataclass(frozen=True)
class RecordOrder:
    """A paid order earns; its customer is enrolled first when it is not a member yet."""

    order: OrderInput
    customer: EnrollInput


@dataclass(frozen=True)
class KeepForClaim:
    """A paid order without a customer: kept for the member who enrols with its e-mail
    (``loyalty.orders.guests``); its ``member_external_id`` is empty until then."""

    order: OrderInput
    email: str


@dataclass(frozen=True)
class Refund:
    """Money went back to the customer: reverse the proportional points."""

    refund: RefundInput


@dataclass(frozen=True)
class Cancel:
    """The order was cancelled: reverse what is left of it, as a refund of the rest.

    ``final``: the delivery may overtake the one that pays the order (webhook bodies are
    snapshots, sent out of order), so a cancellation of an order not recorded yet stops any
    later delivery of it from earning. A platform whose order is read fresh from its API on
    every delivery (BigCommerce) is not final: a later paid state is the newer one."""

    order_external_id: str
    refund_external_id: str
    final: bool = True


@dataclass(frozen=True)
class DescribeProducts:
    """The shop's product data (names, categories, vendors) for the catalogue."""

    products: tuple[ProductInput, ...]


@dataclass(frozen=True)
class Erase:
    """The shop asks for the customer's personal data to be erased (``loyalty.privacy``)."""

    external_id: str
    email: str
    reason: str


@dataclass(frozen=True)
class Close:
    """The shop deleted the customer: its orders no longer earn, and the member is flagged."""

    external_id: str


@dataclass(frozen=True)
class Park:
    """The delivery asks for something a person must do (answer a data request): it waits in
    the inbox with the reason."""

    reason: str


@dataclass(frozen=True)
class Ignore:
    """The delivery asks for nothing (a test order, an unpaid one); the reason says why."""

    reason: str


@dataclass(frozen=True)
class Steps:
    """An order, then what follows from it (the refunds it lists), in turn; when the order
    asks for nothing (a guest order too old to keep), neither do the rest."""

    commands: tuple[Command, ...]


Command = (
    Enrol
    | RecordOrder
    | KeepForClaim
    | Refund
    | Cancel
    | DescribeProducts
    | Erase
    | Close
    | Park
    | Ignore
    | Steps
)


@dataclass(frozen=True)
class Outcome:
    status: InboxStatus
    reason: str | None = None
