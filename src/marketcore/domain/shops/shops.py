"""Shop onboarding (application -> review) and the shop lifecycle."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import Conflict
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Money
from marketcore.domain.shared.text import require_text


class ApplicationStatus(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class ShopStatus(enum.StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class ApplicationNotPending(Conflict):
    code = "application_not_pending"


class ShopStateConflict(Conflict):
    code = "shop_state_conflict"


@attrs.frozen(kw_only=True)
class ShopApproved(DomainEvent):
    shop_id: str
    owner_id: str


@attrs.frozen(kw_only=True)
class ShopSuspended(DomainEvent):
    shop_id: str
    reason: str


@attrs.define(eq=False)
class ShopApplication(Aggregate):
    applicant_id: str
    shop_name: str
    description: str
    legal_name: str
    license_no: str
    contact_phone: str
    submitted_at: datetime
    status: ApplicationStatus = ApplicationStatus.PENDING_REVIEW
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    rejection_reason: str | None = None
    shop_id: str | None = None

    @classmethod
    def submit(
        cls,
        id: str,
        applicant_id: str,
        shop_name: str,
        description: str,
        legal_name: str,
        license_no: str,
        contact_phone: str,
        at: datetime,
    ) -> ShopApplication:
        return cls(
            id,
            applicant_id=applicant_id,
            shop_name=require_text("shop_name", shop_name, 60),
            description=require_text("description", description, 2000, min_length=0),
            legal_name=require_text("legal_name", legal_name, 120),
            license_no=require_text("license_no", license_no, 64),
            contact_phone=require_text("contact_phone", contact_phone, 20, min_length=5),
            submitted_at=at,
        )

    def _review(self, operator_id: str, at: datetime) -> None:
        if self.status is not ApplicationStatus.PENDING_REVIEW:
            raise ApplicationNotPending(f"application {self.id} is {self.status}")
        self.reviewed_by = operator_id
        self.reviewed_at = at

    def approve(self, shop_id: str, operator_id: str, at: datetime) -> Shop:
        self._review(operator_id, at)
        self.status = ApplicationStatus.APPROVED
        self.shop_id = shop_id
        shop = Shop(
            shop_id,
            name=self.shop_name,
            description=self.description,
            owner_id=self.applicant_id,
            opened_at=at,
        )
        shop.record(ShopApproved(occurred_at=at, shop_id=shop_id, owner_id=self.applicant_id))
        return shop

    def reject(self, reason: str, operator_id: str, at: datetime) -> None:
        reason = require_text("reason", reason, 500)
        self._review(operator_id, at)
        self.status = ApplicationStatus.REJECTED
        self.rejection_reason = reason


@attrs.frozen
class ShopStatusChange:
    status: ShopStatus
    reason: str
    by: str
    at: datetime


@attrs.define(eq=False)
class Shop(Aggregate):
    name: str
    description: str
    owner_id: str
    opened_at: datetime
    status: ShopStatus = ShopStatus.OPEN
    shipping_fee: Money = attrs.Factory(Money.zero)  # flat fee per shop order until freight templates
    deduction_mode: DeductionMode = DeductionMode.RESERVE_ON_ORDER
    staff_ids: frozenset[str] = frozenset()
    history: list[ShopStatusChange] = attrs.Factory(list)

    @property
    def is_open(self) -> bool:
        return self.status is ShopStatus.OPEN

    def has_staff(self, user_id: str) -> bool:
        return user_id == self.owner_id or user_id in self.staff_ids

    def suspend(self, reason: str, by: str, at: datetime) -> None:
        reason = require_text("reason", reason, 500)
        if self.status is not ShopStatus.OPEN:
            raise ShopStateConflict(f"shop is {self.status}, only an open shop can be suspended")
        self.status = ShopStatus.SUSPENDED
        self.history.append(ShopStatusChange(ShopStatus.SUSPENDED, reason, by, at))
        self.record(ShopSuspended(occurred_at=at, shop_id=self.id, reason=reason))

    def reinstate(self, reason: str, by: str, at: datetime) -> None:
        reason = require_text("reason", reason, 500)
        if self.status is not ShopStatus.SUSPENDED:
            raise ShopStateConflict(f"shop is {self.status}, only a suspended shop can be reinstated")
        self.status = ShopStatus.OPEN
        self.history.append(ShopStatusChange(ShopStatus.OPEN, reason, by, at))
