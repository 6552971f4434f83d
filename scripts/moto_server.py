#!/usr/bin/env python3
"""Start moto server as gradestack's AWS emulator.

This is the one place that knows how moto 5.x differs from AWS for our stack;
tests, `make emulated` and the local environment's AWS stand-in all start moto
through it. Adjustments (see DESIGN.md section 5):

- AWS managed IAM policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES) so that
  policy attachments such as AmazonECSTaskExecutionRolePolicy resolve.
- ECS services report their tasks as running (MOTO_ECS_SERVICE_RUNNING).

Usage: moto_server.py [--host 127.0.0.1] [--port 5000]
"""

from __future__ import annotations

import argparse
import os


def apply_emulator_settings() -> None:
    """Environment switches moto reads at import time; must run before moto is imported."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "true")
    # moto signs nothing, but boto-based code inside moto wants a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()

    apply_emulator_settings()
    from moto import server  # noqa: PLC0415  (import after the environment is set)

    server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
