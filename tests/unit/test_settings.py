from __future__ import annotations

import pytest

from marketcore.bootstrap import InvalidSettings, Settings


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
