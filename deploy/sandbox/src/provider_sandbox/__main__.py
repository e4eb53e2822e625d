"""``provider-sandbox``: the HTTP provider and the SMTP sink until stopped."""

from __future__ import annotations

import argparse

import uvicorn

from provider_sandbox.server import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="provider-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=2525)
    args = parser.parse_args()
    sandbox = Sandbox(args.smtp_port, args.host)
    sandbox.start_smtp()
    try:
        uvicorn.run(sandbox.app(), host=args.host, port=args.http_port, log_level="warning")
    finally:
        sandbox.stop_smtp()


if __name__ == "__main__":
    main()
