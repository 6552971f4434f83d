"""Health endpoints: /health for the load balancer (no I/O), /health/ready for operators and deploys."""

from __future__ import annotations

from flask import Blueprint, jsonify

from gradestack_web.context import services

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    # Liveness only: a database blip must not make the ALB pull every web host at once.
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
def ready():
    status, body = services().readiness()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
