"""Shop onboarding, review and supervision."""

from __future__ import annotations

from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shared.services import Service
from marketcore.application.shops.ports import ShopRepository, ShopsUnitOfWork
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import InvalidInput, NotFound
from marketcore.domain.shared.money import Money
from marketcore.domain.shops.shops import ApplicationStatus, Shop, ShopApplication, ShopStatus


class ShopsService(Service[ShopsUnitOfWork]):
    def apply(
        self,
        actor: Actor,
        shop_name: str,
        description: str,
        legal_name: str,
        license_no: str,
        contact_phone: str,
    ) -> ShopApplication:
        application = ShopApplication.submit(
            new_id(),
            actor.require_user(),
            shop_name,
            description,
            legal_name,
            license_no,
            contact_phone,
            self._clock.now(),
        )
        with self._uow() as uow:
            uow.shop_applications.add(application)
            uow.commit()
        return application

    def application(self, actor: Actor, application_id: str) -> ShopApplication:
        """Visible to its applicant and to operators; to anyone else it does not exist."""
        with self._reader() as uow:
            application = uow.shop_applications.get(application_id)
        if application is None or not (actor.is_operator or application.applicant_id == actor.user_id):
            raise NotFound("shop application", application_id)
        return application

    def applications(
        self, actor: Actor, status: ApplicationStatus | None, page: PageRequest
    ) -> Page[ShopApplication]:
        actor.require_operator()
        with self._reader() as uow:
            return uow.shop_applications.list(status, page)

    def approve(self, actor: Actor, application_id: str) -> Shop:
        operator = actor.require_operator()
        with self._uow() as uow:
            application = self._get_application(uow, application_id)
            shop = application.approve(new_id(), operator, self._clock.now())
            uow.shops.add(shop)
            uow.commit()
        return shop

    def reject(self, actor: Actor, application_id: str, reason: str) -> ShopApplication:
        operator = actor.require_operator()
        with self._uow() as uow:
            application = self._get_application(uow, application_id)
            application.reject(reason, operator, self._clock.now())
            uow.commit()
        return application

    def suspend(self, actor: Actor, shop_id: str, reason: str) -> Shop:
        operator = actor.require_operator()
        with self._uow() as uow:
            shop = self._get_shop(uow, shop_id)
            shop.suspend(reason, operator, self._clock.now())
            uow.commit()
        return shop

    def reinstate(self, actor: Actor, shop_id: str, reason: str) -> Shop:
        operator = actor.require_operator()
        with self._uow() as uow:
            shop = self._get_shop(uow, shop_id)
            shop.reinstate(reason, operator, self._clock.now())
            uow.commit()
        return shop

    def update_settings(
        self, actor: Actor, shop_id: str, shipping_fee: int | None = None, deduction_mode: str | None = None
    ) -> Shop:
        """The shop's own settings: its flat shipping fee and when stock leaves the shelf."""
        with self._uow() as uow:
            shop = staff_shop(uow.shops, actor, shop_id)
            if shipping_fee is not None:
                if isinstance(shipping_fee, bool) or not 0 <= shipping_fee <= 100_000_00:
                    raise InvalidInput("shipping_fee", "must be 0 to 10000000 fen")
                shop.shipping_fee = Money(shipping_fee, shop.shipping_fee.currency)
            if deduction_mode is not None:
                try:
                    shop.deduction_mode = DeductionMode(deduction_mode)
                except ValueError:
                    raise InvalidInput("deduction_mode", f"one of {', '.join(DeductionMode)}") from None
            uow.commit()
        return shop

    def shop(self, shop_id: str) -> Shop:
        """The public shop page: closed shops are gone."""
        with self._reader() as uow:
            shop = uow.shops.get(shop_id)
        if shop is None or shop.status is ShopStatus.CLOSED:
            raise NotFound("shop", shop_id)
        return shop

    def memberships(self, user_id: str) -> list[Shop]:
        with self._reader() as uow:
            return uow.shops.owned_by(user_id)

    @staticmethod
    def _get_application(uow: ShopsUnitOfWork, application_id: str) -> ShopApplication:
        application = uow.shop_applications.get(application_id)
        if application is None:
            raise NotFound("shop application", application_id)
        return application

    @staticmethod
    def _get_shop(uow: ShopsUnitOfWork, shop_id: str) -> Shop:
        shop = uow.shops.get(shop_id)
        if shop is None:
            raise NotFound("shop", shop_id)
        return shop


def staff_shop(shops: ShopRepository, actor: Actor, shop_id: str) -> Shop:
    """The shop, if the actor works there; another shop answers not found."""
    shop = shops.get(shop_id)
    if shop is None or not (actor.user_id and shop.has_staff(actor.user_id)):
        raise NotFound("shop", shop_id)
    return shop
