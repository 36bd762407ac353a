import pytest

from kafkalab.settings import Settings, SettingsError


def test_defaults_use_a_local_broker_and_course_names():
    s = Settings.from_env({})
    assert s.local and s.brokers is None
    assert (s.client_id, s.group_id, s.log_level) == ("exercise-app", "exercise-group", "info")


def test_brokers_are_split_and_trimmed():
    s = Settings.from_env({"KAFKA_BROKERS": " localhost:9092,localhost:9093 ,localhost:9094,"})
    assert s.brokers == ("localhost:9092", "localhost:9093", "localhost:9094")
    assert not s.local


@pytest.mark.parametrize("raw", ["localhost", "localhost:0", "localhost:70000", "a b:9092", "host:port"])
def test_bad_brokers_name_the_variable_and_the_format(raw):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"KAFKA_BROKERS": raw})
    assert str(err.value).startswith("KAFKA_BROKERS: expected")
    assert "host:port" in str(err.value)


@pytest.mark.parametrize("var", ["KAFKA_CLIENT_ID", "KAFKA_GROUP_ID"])
def test_bad_ids_name_the_variable(var):
    with pytest.raises(SettingsError, match=f"^{var}: expected"):
        Settings.from_env({var: "has space"})


def test_log_level_accepts_common_spellings():
    assert Settings.from_env({"LOG_LEVEL": "WARN"}).log_level == "warning"
    assert Settings.from_env({"LOG_LEVEL": "Debug"}).log_level_number == 10
    with pytest.raises(SettingsError, match="^LOG_LEVEL: expected one of"):
        Settings.from_env({"LOG_LEVEL": "verbose"})
