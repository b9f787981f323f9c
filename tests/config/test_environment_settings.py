"""An EIS_* variable that cannot be used stops the role before it starts, naming the variable,
its value and what was expected (schemas/environment.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.settings import WorkerSettings
from ingress.settings import IngressSettings
from schemas.environment import SettingError, env_int, env_port, env_seconds
from tests.stack_helpers import ROOT


def test_an_unset_variable_gives_the_default() -> None:
    assert env_int("EIS_X", 7, environ={}) == 7
    assert env_seconds("EIS_X", 0.5, environ={}) == 0.5


@pytest.mark.parametrize("value", ["abc", "0", "65536", "8080.5", ""])
def test_a_port_outside_1_to_65535_names_the_variable(value: str) -> None:
    with pytest.raises(SettingError, match=r"EIS_P='.*': expected an integer from 1 to 65535"):
        env_port("EIS_P", 80, environ={"EIS_P": value})


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_seconds_must_be_a_finite_number_above_zero(value: str) -> None:
    with pytest.raises(SettingError, match=r"expected a number of seconds above 0"):
        env_seconds("EIS_S", 1.0, environ={"EIS_S": value})


def test_a_count_below_its_lower_bound_is_refused() -> None:
    assert env_int("EIS_N", 5, low=0, environ={"EIS_N": "0"}) == 0
    with pytest.raises(SettingError, match=r"EIS_N='-3': expected an integer from 0 up"):
        env_int("EIS_N", 5, low=0, environ={"EIS_N": "-3"})


def test_worker_settings_refuse_a_commit_count_of_zero(monkeypatch) -> None:
    monkeypatch.setenv("EIS_COMMIT_EVERY_EVENTS", "0")
    with pytest.raises(SettingError, match="EIS_COMMIT_EVERY_EVENTS"):
        WorkerSettings.from_env()


def test_ingress_settings_name_the_variable_of_a_bad_limit() -> None:
    with pytest.raises(SettingError, match="EIS_MAX_HEADERS='many'"):
        IngressSettings.from_env({"EIS_MAX_HEADERS": "many"})


@pytest.mark.parametrize(("role", "variable", "value"), [
    ("worker", "EIS_WORKER_WEB_PORT", "0"),
    ("connect", "EIS_CONNECT_METRICS_PORT", "99999"),
    ("ingress", "EIS_INGRESS_PORT", "http"),
])
def test_a_role_with_a_bad_setting_exits_2_with_one_line_naming_it(role: str, variable: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", role, "-c", str(ROOT / "examples" / "quickstart.yaml")],
        env={"PATH": "/usr/bin:/bin", variable: value, "EIS_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"eis: invalid setting: {variable}={value!r}: expected an integer from " \
                                  f"{0 if role == 'connect' else 1} to 65535"
