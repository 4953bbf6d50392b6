"""``create_marketplace``: the one call an integrator makes to embed marketcore."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from marketcore.adapters.clock import SystemClock
from marketcore.adapters.sqlalchemy.engine import is_sqlite_file, writer_gate
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.write_groups import write_group
from marketcore.application.cart.services import CartService
from marketcore.application.catalog.services import CatalogService
from marketcore.application.identity.ports import PasswordHasher
from marketcore.application.identity.services import IdentityService
from marketcore.application.ordering.checkout import CheckoutService
from marketcore.application.ordering.due_work import DueWorkService
from marketcore.application.ordering.inbox import PaymentInbox
from marketcore.application.ordering.ledger import LedgerService
from marketcore.application.ordering.orders import OrderService
from marketcore.application.ordering.payments import PaymentService
from marketcore.application.promotions.flash_sales import FlashSaleService
from marketcore.application.promotions.services import CouponService, PromotionsService
from marketcore.application.reviews.services import ReviewService
from marketcore.application.risk.services import RiskService
from marketcore.application.shared.changes import ChangeFeed
from marketcore.application.shared.events import EventBus
from marketcore.application.shared.ports import Clock
from marketcore.application.shared.relay import OutboxRelay
from marketcore.application.shops.services import ShopsService
from marketcore.bootstrap.container import Container
from marketcore.bootstrap.settings import Settings
from marketcore.domain.shared.actors import Actor


class Marketplace:
    """Every use case, one service per context. Each call takes an ``Actor`` and enforces its
    permissions, so embedding code gets the same protection as HTTP clients."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.settings: Settings = container.settings()
        self.identity: IdentityService = container.identity()
        self.shops: ShopsService = container.shops()
        self.catalog: CatalogService = container.catalog()
        self.promotions: PromotionsService = container.promotions()
        self.coupons: CouponService = container.coupons()
        self.flash_sales: FlashSaleService = container.flash_sales()
        self.cart: CartService = container.cart()
        self.checkout: CheckoutService = container.checkout()
        self.orders: OrderService = container.orders()
        self.due_work: DueWorkService = container.due_work()
        self.ledger: LedgerService = container.ledger()
        self.payments: PaymentService = container.payments()
        self.inbox: PaymentInbox = container.inbox()  # provider notifications: ``receive``
        self.reviews: ReviewService = container.reviews()
        self.risk: RiskService = container.risk()
        self.events: EventBus = container.events()  # subscribe in-process handlers here
        self.changes: ChangeFeed = container.changes()  # ids each commit wrote, for caches
        self.relay: OutboxRelay = container.relay()  # outbox -> broker; see ``marketcore relay``

    def actor_for(self, user_id: str) -> Actor:
        """The actor for a signed-in user, with their current roles."""
        user = self.identity.me(Actor(user_id))
        return Actor(user.id, frozenset(user.roles))

    @property
    def writers(self) -> int:
        """Writing transactions this process runs at once (one on SQLite, see ``WriterGate``)."""
        engine = self.container.engine()
        return 1 if engine is None else writer_gate(engine).size

    @property
    def groups_writes(self) -> bool:
        """Whether ``write_group`` shares one transaction among its writes here (a SQLite file)."""
        engine = self.container.engine()
        return engine is not None and is_sqlite_file(engine)

    def write_group(self) -> AbstractContextManager[None]:
        """Use cases this thread runs inside the block commit together, at its end, where that
        is cheaper (``groups_writes``; see ``adapters/sqlalchemy/write_groups``); elsewhere each
        commits on its own as usual. For callers that answer nobody before the block ends."""
        engine = self.container.engine()
        return nullcontext() if engine is None else write_group(engine)

    def close(self) -> None:
        self.relay.publisher.close()
        engine = self.container.engine()
        if engine is not None:
            engine.dispose()


def create_marketplace(
    database_url: str | None = None,
    *,
    clock: Clock | None = None,
    password_hasher: PasswordHasher | None = None,
    **settings: Any,
) -> Marketplace:
    """Build a marketplace from ``MARKETCORE_*`` environment variables overridden by arguments.

    ``database_url`` is ``sqlite:///FILE`` (default ``marketcore.db``), ``postgresql://...`` or
    ``memory://`` (in-memory adapters, for tests). The schema is migrated unless
    ``migrate_on_start=False``. ``password_hasher``: instead of argon2id at argon2-cffi's
    defaults (an integrator's own scheme, or other argon2 parameters).
    """
    resolved = Settings.load(database_url=database_url, **settings)
    container = Container(settings=resolved)
    container.clock.override(clock or SystemClock())
    if password_hasher is not None:
        container.hasher.override(password_hasher)
    if resolved.migrate_on_start and not resolved.database_url.startswith("memory"):
        upgrade(resolved.database_url)
    return Marketplace(container)


__all__ = ["Marketplace", "create_marketplace"]
