"""KafkaSettings and the client configs (pure, no broker)."""

from __future__ import annotations

import pytest

from schemas.kafka import KafkaConfigError, KafkaSettings, consumer_config, producer_config


def test_from_env_reads_fields_security_shortcuts_and_pass_through() -> None:
    s = KafkaSettings.from_env(
        {
            "EIS_KAFKA_BOOTSTRAP": "k1:9093,k2:9093",
            "EIS_KAFKA_SESSION_TIMEOUT_MS": "45000",
            "EIS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "EIS_KAFKA_SASL_PASSWORD": "hunter2",
            "EIS_KAFKA_CONFIG_SOCKET_KEEPALIVE_ENABLE": "true",
        }
    )
    assert s.bootstrap == "k1:9093,k2:9093" and s.session_timeout_ms == 45_000
    config = consumer_config(s, "g")
    assert config["security.protocol"] == "SASL_SSL"
    assert config["socket.keepalive.enable"] == "true"
    assert s.redacted_extra()["sasl.password"] == "***"
    assert "hunter2" not in repr(s)


def test_defaults_point_at_local_broker() -> None:
    assert KafkaSettings.from_env({}).bootstrap == "127.0.0.1:9092"


def test_pass_through_cannot_weaken_delivery_guarantees() -> None:
    with pytest.raises(KafkaConfigError, match="enable.auto.commit"):
        KafkaSettings.from_env({"EIS_KAFKA_CONFIG_ENABLE_AUTO_COMMIT": "true"})


def test_bad_integer_names_the_variable() -> None:
    with pytest.raises(KafkaConfigError) as info:
        KafkaSettings.from_env({"EIS_KAFKA_LINGER_MS": "soon"})
    assert info.value.path == "EIS_KAFKA_LINGER_MS"


def test_configs_carry_at_least_once_settings() -> None:
    s = KafkaSettings()
    p = producer_config(s)
    assert (p["acks"], p["enable.idempotence"], p["message.timeout.ms"]) == ("all", True, 10_000)
    c = consumer_config(s, "g")
    assert c["enable.auto.commit"] is False and c["enable.auto.offset.store"] is False
    assert c["auto.offset.reset"] == "earliest"
