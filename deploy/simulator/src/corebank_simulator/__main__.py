"""`corebank-simulator`: publish a simulated card portfolio on the core banking topics.

    corebank-simulator --accounts 200 --days 60 --rate 200

Broker and topic prefix default to KAFKA_BOOTSTRAP_SERVERS and KAFKA_TOPIC_PREFIX, as for the
services. `--dry-run` prints the events as JSON lines instead of publishing them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import date

from pydantic_settings import BaseSettings, SettingsConfigDict
from tqdm import tqdm

from .generator import BusinessDay, SimulationOptions, simulate
from .publisher import Pacer, PublishFailed, kafka_producer, publish

DEFAULT_START = date(2026, 1, 5)


class BrokerSettings(BaseSettings):
    """The broker settings the services read, from the same environment variables."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    broker = BrokerSettings()
    parser = argparse.ArgumentParser(
        prog="corebank-simulator",
        description="Publish a simulated card portfolio on the core banking topics, day by day.",
    )
    parser.add_argument("--accounts", type=int, default=1000, help="number of accounts (default 1000)")
    parser.add_argument("--days", type=int, default=30, help="business days to simulate (default 30)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=DEFAULT_START,
        help=f"first date (default {DEFAULT_START})",
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed and options, same events (default 1)")
    parser.add_argument(
        "--calendar",
        choices=("weekdays", "daily"),
        default="weekdays",
        help="business days: Monday to Friday (default) or every day",
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="at most this many events/s (default: no limit)"
    )
    parser.add_argument(
        "--bootstrap-servers",
        default=broker.kafka_bootstrap_servers,
        help="Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--topic-prefix",
        default=broker.kafka_topic_prefix,
        help="prefix of every topic name (default: $KAFKA_TOPIC_PREFIX or none)",
    )
    parser.add_argument("--source", default="corebank", help="CloudEvents source (default corebank)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the events as JSON lines, publish nothing"
    )
    args = parser.parse_args(argv)
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    return args


def options_from(args: argparse.Namespace) -> SimulationOptions:
    return SimulationOptions(
        accounts=args.accounts,
        days=args.days,
        start=args.start,
        seed=args.seed,
        calendar=args.calendar,
        source=args.source,
    )


def dry_run(days: Iterator[BusinessDay]) -> int:
    """Write every event, closes included, as `{"topic", "key", "event"}` lines to stdout."""
    count = 0
    for day in days:
        for outgoing in (*day.events, day.close):
            line = {
                "topic": outgoing.topic,
                "key": outgoing.key,
                "event": outgoing.event.model_dump(mode="json"),
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


async def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    producer = kafka_producer(args.bootstrap_servers)
    await producer.start()
    with tqdm(total=options.days, unit="day", disable=args.no_progress, desc="business days") as bar:
        events = 0

        def closed(day: BusinessDay) -> None:
            nonlocal events
            events += len(day.events) + 1
            bar.set_postfix_str(f"{day.business_date} closed, {events:,} events", refresh=False)
            bar.update(1)

        try:
            published = await publish(
                simulate(options),
                producer,
                topic_prefix=args.topic_prefix,
                pacer=Pacer(args.rate),
                on_closed=closed,
            )
        finally:
            await producer.stop()
    print(
        f"corebank-simulator: {published.events:,} events over {published.days} business days "
        f"from {options.start} for {options.accounts:,} accounts (seed {options.seed}) "
        f"on {args.bootstrap_servers}, topic prefix {args.topic_prefix!r}",
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        options = options_from(args)
    except ValueError as exc:
        sys.exit(f"corebank-simulator: {exc}")
    if args.dry_run:
        dry_run(simulate(options))
        return
    try:
        sys.exit(asyncio.run(run(args)))
    except PublishFailed as exc:
        sys.exit(f"corebank-simulator: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
