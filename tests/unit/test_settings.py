from __future__ import annotations

import pytest

from marketcore import create_marketplace
from marketcore.bootstrap import InvalidSettings, Settings
from marketcore.domain.shared.errors import Unauthenticated


def test_settings_come_from_marketcore_environment_variables() -> None:
    settings = Settings.load(
        {"MARKETCORE_PAYMENT_WINDOW_MINUTES": "15", "MARKETCORE_PAYMENT_GATEWAYS": "cod"}
    )
    assert settings.payment_window_minutes == 15
    assert settings.payment_gateways == ("cod",)


def test_keyword_arguments_override_the_environment() -> None:
    settings = Settings.load({"MARKETCORE_PAYMENT_WINDOW_MINUTES": "15"}, payment_window_minutes=5)
    assert settings.payment_window_minutes == 5


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"MARKETCORE_PAYMENT_WINDOW_MINUTES": "soon"}, "MARKETCORE_PAYMENT_WINDOW_MINUTES"),
        ({"MARKETCORE_PAYMENT_GATEWAYS": "paypal"}, "MARKETCORE_PAYMENT_GATEWAYS"),
        ({"MARKETCORE_DATABASE_URL": "mysql://x"}, "MARKETCORE_DATABASE_URL"),
        ({"MARKETCORE_ENVIRONMENT": "production"}, "MARKETCORE_SECRET_KEY"),
        ({"MARKETCORE_MIGRATE_ON_START": "perhaps"}, "MARKETCORE_MIGRATE_ON_START"),
        ({"MARKETCORE_DATABASE_WRITERS": "-1"}, "MARKETCORE_DATABASE_WRITERS"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(InvalidSettings) as error:
        Settings.load(env)
    assert str(error.value).startswith(key)


def test_unknown_keyword_settings_are_refused() -> None:
    with pytest.raises(InvalidSettings):
        Settings.load({}, colour="red")


class RecordingHasher:
    """A hasher of the integrator's own: what it was asked to hash, and a scheme of its own."""

    def __init__(self) -> None:
        self.hashed: list[str] = []

    def hash(self, password: str) -> str:
        self.hashed.append(password)
        return "own$" + password[::-1]

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "own$" + password[::-1]


def test_an_integrator_may_bring_its_own_password_hasher() -> None:
    hasher = RecordingHasher()
    market = create_marketplace("memory://", password_hasher=hasher)
    user = market.identity.register("li@buyers.test", "correct-horse-battery", "Li")
    assert hasher.hashed == ["correct-horse-battery"]
    assert user.password_hash == "own$yrettab-esroh-tcerroc"
    assert market.identity.authenticate("li@buyers.test", "correct-horse-battery").id == user.id
    with pytest.raises(Unauthenticated):
        market.identity.authenticate("li@buyers.test", "wrong-horse-battery")
