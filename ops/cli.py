"""`eis`: one command for every role, the topics, validation and the development stack."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from schemas.environment import SettingError, env_port
from schemas.errors import ConfigError
from schemas.kafka.errors import KafkaConfigError


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="pipeline file (.yaml/.json); default $EIS_CONFIG")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="eis", description="Event Integration Services on Kafka")
    parser.add_argument("--log-level", default=os.environ.get("EIS_LOG_LEVEL", "WARNING"))
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="every role as child processes (development)")
    _add_config(run)
    run.add_argument("--demo-sink", type=int, metavar="PORT",
                     help="also start a receiver on PORT that prints what it gets")

    ingress = commands.add_parser("ingress", help="the HTTP edge: webhooks, publish API")
    _add_config(ingress)
    ingress.add_argument("--port", type=int, help="default $EIS_INGRESS_PORT, else 8080")
    ingress.add_argument("--host", default=os.environ.get("EIS_INGRESS_HOST", "0.0.0.0"))  # noqa: S104

    worker = commands.add_parser("worker", help="Faust agents: routing, transforms, tracking")
    _add_config(worker)

    connect = commands.add_parser("connect", help="sink connectors")
    _add_config(connect)
    connect.add_argument("destinations", nargs="*", help="destination ids (default: all)")

    topics = commands.add_parser("topics", help="create or describe the pipeline's topics")
    topics.add_argument("action", choices=["create", "describe"])
    _add_config(topics)

    dlq = commands.add_parser("dlq", help="list, show or redrive a destination's dead letters")
    dlq.add_argument("action", choices=["list", "show", "redrive"])
    dlq.add_argument("destination", help="destination id, e.g. orders.sink")
    _add_config(dlq)
    dlq.add_argument("--event", help="only this event id")
    dlq.add_argument("--since", help="dead-lettered at or after: ISO-8601, epoch ms, or an age (2h)")
    dlq.add_argument("--until", help="dead-lettered before: ISO-8601, epoch ms, or an age (10m)")

    destinations = commands.add_parser(
        "destinations", help="show a destination's state, or enable one a 410 Gone disabled")
    destinations.add_argument("action", choices=["show", "enable"])
    destinations.add_argument("destination", help="destination id, e.g. orders.sink")
    _add_config(destinations)

    validate = commands.add_parser("validate", help="check a pipeline file, listing every problem")
    validate.add_argument("file")

    sink = commands.add_parser("demo-sink", help="a receiver that prints what it gets")
    sink.add_argument("--port", type=int, default=9999)
    sink.add_argument("--host", default="127.0.0.1")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `eis` console script."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=args.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return _dispatch(args)
    except ConfigError as exc:
        print(f"eis: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except (SettingError, KafkaConfigError) as exc:
        print(f"eis: invalid setting: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from ops.config import load_checked

    if args.command == "validate":
        pipeline = load_checked(args.file)
        routes = len(pipeline.routes)
        print(f"{args.file}: ok — {routes} route(s), {len(pipeline.destinations)} destination(s), "
              f"sources: {', '.join(pipeline.source_ids) or 'none'}")
        return 0
    if args.command == "demo-sink":
        from ops.demo_sink import run_demo_sink

        asyncio.run(run_demo_sink(args.port, args.host))
        return 0
    if args.command == "run":
        from ops.supervisor import run_all

        return run_all(args.config, args.demo_sink, args.log_level)
    pipeline = load_checked(args.config)
    if args.command == "topics":
        from ops.topics import create_topics, describe_topics

        return create_topics(pipeline) if args.action == "create" else describe_topics(pipeline)
    if args.command == "ingress":
        from ingress.server import run_ingress

        run_ingress(pipeline, host=args.host, port=args.port or env_port("EIS_INGRESS_PORT", 8080))
        return 0
    if args.command == "worker":
        from agents.settings import WorkerSettings
        from agents.worker import run_worker

        run_worker(pipeline, WorkerSettings.from_env(), loglevel=args.log_level.upper())
        return 0
    if args.command == "dlq":
        from ops.dlq import run_dlq

        return run_dlq(pipeline, args.action, args.destination, args.event, args.since, args.until)
    if args.command == "destinations":
        from ops.destinations import run_destinations

        return run_destinations(pipeline, args.action, args.destination)
    if args.command == "connect":
        from connectors.process import run_connectors

        return run_connectors(pipeline, args.destinations)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
