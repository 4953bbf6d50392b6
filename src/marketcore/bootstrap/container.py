"""The dependency-injector container: the only place that picks adapters for ports."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

from marketcore.adapters.clock import SystemClock
from marketcore.adapters.memory.store import MemoryDatabase
from marketcore.adapters.memory.unit_of_work import MemoryUnitOfWork
from marketcore.adapters.messaging.memory import InMemoryEventPublisher
from marketcore.adapters.passwords.argon2 import Argon2PasswordHasher
from marketcore.adapters.repositories import Repositories
from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketcore.application.cart.ports import CartUnitOfWork
from marketcore.application.cart.services import CartService
from marketcore.application.catalog.ports import CatalogUnitOfWork
from marketcore.application.catalog.services import CatalogService
from marketcore.application.identity.ports import IdentityUnitOfWork
from marketcore.application.identity.services import IdentityService
from marketcore.application.ordering.checkout import CheckoutService
from marketcore.application.ordering.due_work import DueWorkService
from marketcore.application.ordering.inbox import PaymentInbox
from marketcore.application.ordering.ledger import LedgerService
from marketcore.application.ordering.orders import OrderService
from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.payments import PaymentService
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.reconciliation import PaymentReconciler
from marketcore.application.ordering.refunds import RefundSender
from marketcore.application.payments.ports import PaymentGateway
from marketcore.application.promotions.flash_sales import FlashSaleService
from marketcore.application.promotions.ports import FlashSalesUnitOfWork, PromotionsUnitOfWork
from marketcore.application.promotions.services import CouponService, PromotionsService
from marketcore.application.reviews.ports import ReviewsUnitOfWork
from marketcore.application.reviews.services import ReviewService
from marketcore.application.risk.ports import RiskRule, RiskUnitOfWork
from marketcore.application.risk.rules import BlacklistRule, VelocityRule
from marketcore.application.risk.services import RiskEngine, RiskService
from marketcore.application.shared.changes import ChangeFeed
from marketcore.application.shared.events import EventBus
from marketcore.application.shared.ports import EventPublisher, OutboxUnitOfWork, UnitOfWorkFactory
from marketcore.application.shared.relay import OutboxRelay
from marketcore.application.shops.ports import ShopsUnitOfWork
from marketcore.application.shops.services import ShopsService
from marketcore.bootstrap.gateways import build_gateway
from marketcore.bootstrap.settings import Settings
from marketcore.domain.promotions.kinds import default_rule_kinds
from marketcore.domain.promotions.rules import RuleKinds


class SqlAlchemyMarketUnitOfWork(Repositories, SqlAlchemyUnitOfWork):
    """A SQLAlchemy transaction with every repository attached."""


class MemoryMarketUnitOfWork(Repositories, MemoryUnitOfWork):
    """An in-memory transaction with every repository attached."""


MarketUnitOfWork = SqlAlchemyMarketUnitOfWork | MemoryMarketUnitOfWork


def uow_factory(
    engine: Engine | None,
    memory: MemoryDatabase | None,
    bus: EventBus | None = None,
    changes: ChangeFeed | None = None,
    rule_kinds: RuleKinds | None = None,
) -> UnitOfWorkFactory[MarketUnitOfWork]:
    """Units of work that write events to the outbox and, once committed, hand them to ``bus``
    and the ids they wrote to ``changes``; stored promotions decode through ``rule_kinds``."""
    after_commit = None if bus is None else bus.dispatch
    on_change = None if changes is None else changes.publish
    if engine is not None:
        sql_engine = engine

        def sql(*, read_only: bool = False, cached: bool = False) -> MarketUnitOfWork:
            uow = SqlAlchemyMarketUnitOfWork(
                sql_engine, after_commit=after_commit, on_change=on_change, read_only=read_only, cached=cached
            )
            uow.rule_kinds = rule_kinds
            return uow

        return sql
    if memory is None:
        raise ValueError("neither a database engine nor an in-memory database")
    database = memory

    def in_memory(*, read_only: bool = False, cached: bool = False) -> MarketUnitOfWork:
        uow = MemoryMarketUnitOfWork(database, after_commit=after_commit, on_change=on_change)
        uow.rule_kinds = rule_kinds
        return uow

    return in_memory


def _satisfies_every_context(
    uow: MarketUnitOfWork,
) -> tuple[
    IdentityUnitOfWork,
    ShopsUnitOfWork,
    CatalogUnitOfWork,
    PromotionsUnitOfWork,
    FlashSalesUnitOfWork,
    CartUnitOfWork,
    OrderingUnitOfWork,
    ReviewsUnitOfWork,
    RiskUnitOfWork,
    OutboxUnitOfWork,
]:
    """Never called: makes mypy prove the one unit of work fits every context's protocol."""
    return (uow, uow, uow, uow, uow, uow, uow, uow, uow, uow)


def make_engine(settings: Settings) -> Engine | None:
    if settings.database_url.startswith("memory"):
        return None
    return create_engine_for(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        writers=settings.database_writers,
    )


def make_memory(settings: Settings) -> MemoryDatabase | None:
    return MemoryDatabase() if settings.database_url.startswith("memory") else None


def enabled_gateways(settings: Settings) -> dict[str, PaymentGateway]:
    return {
        code: build_gateway(code, settings.gateway_options.get(code, {}), settings.secret_key)
        for code in settings.payment_gateways
    }


def payment_timings(settings: Settings) -> PaymentTimings:
    return PaymentTimings(
        first_check=timedelta(minutes=settings.payment_check_minutes),
        give_up_after=timedelta(hours=settings.payment_give_up_hours),
    )


def make_publisher(settings: Settings) -> EventPublisher:
    """RabbitMQ when ``broker_url`` is set, else an in-memory publisher (tests, embedding)."""
    if not settings.broker_url:
        return InMemoryEventPublisher()
    from marketcore.adapters.messaging.rabbitmq import RabbitMqEventPublisher  # pika is optional

    return RabbitMqEventPublisher(settings.broker_url, settings.events_exchange)


def risk_rules(settings: Settings) -> list[RiskRule]:
    return [BlacklistRule(), VelocityRule(settings.velocity_checkouts_per_hour, timedelta(hours=1))]


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(make_engine, settings)
    memory = providers.Singleton(make_memory, settings)
    events = providers.Singleton(EventBus)
    changes = providers.Singleton(ChangeFeed)
    rule_kinds = providers.Singleton(default_rule_kinds)  # integrators register their kinds here
    uow = providers.Singleton(uow_factory, engine, memory, events, changes, rule_kinds)
    publisher = providers.Singleton(make_publisher, settings)
    hasher = providers.Singleton(Argon2PasswordHasher)
    gateways = providers.Singleton(enabled_gateways, settings)
    risk_engine = providers.Singleton(RiskEngine, providers.Callable(risk_rules, settings))
    payment_window = providers.Callable(lambda s: timedelta(minutes=s.payment_window_minutes), settings)

    identity = providers.Singleton(IdentityService, uow, clock, hasher)
    shops = providers.Singleton(ShopsService, uow, clock)
    catalog = providers.Singleton(CatalogService, uow, clock)
    promotions = providers.Singleton(PromotionsService, uow, clock, rule_kinds)
    coupons = providers.Singleton(CouponService, uow, clock, rule_kinds)
    cart = providers.Singleton(CartService, uow, clock)
    checkout = providers.Singleton(CheckoutService, uow, clock, gateways, risk_engine, payment_window)
    receipt_window = providers.Callable(lambda s: timedelta(days=s.auto_complete_days), settings)
    receipt_extension = providers.Callable(lambda s: timedelta(days=s.receipt_extension_days), settings)
    timings = providers.Singleton(payment_timings, settings)
    refunds = providers.Singleton(RefundSender, uow, clock, gateways, timings)
    inbox = providers.Singleton(PaymentInbox, uow, clock, gateways, timings, refunds)
    reconciler = providers.Singleton(PaymentReconciler, uow, clock, gateways, timings, refunds)
    orders = providers.Singleton(
        OrderService, uow, clock, receipt_window, receipt_extension, timings, refunds
    )
    flash_sales = providers.Singleton(FlashSaleService, uow, clock)
    due_work = providers.Singleton(DueWorkService, uow, clock, inbox, reconciler, flash_sales)
    ledger = providers.Singleton(LedgerService, uow, clock)
    payments = providers.Singleton(PaymentService, uow, clock, gateways, timings, refunds, inbox)
    reviews = providers.Singleton(ReviewService, uow, clock)
    risk = providers.Singleton(RiskService, uow, clock, risk_engine)
    relay = providers.Singleton(
        OutboxRelay,
        uow,
        publisher,
        clock,
        batch_size=providers.Callable(lambda s: s.relay_batch_size, settings),
    )
