"""Logging to stderr (journald or the container runtime collects it), level from LOG_LEVEL."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # stomp.py logs every frame at INFO, including CONNECT headers: keep it quiet.
    logging.getLogger("stomp.py").setLevel(logging.WARNING)
