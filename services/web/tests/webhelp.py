"""Helpers of the web app's tests: accounts, authenticated test clients, logging in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "correct horse battery staple"  # noqa: S105  (test-only value)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def as_user(app: Flask, account: Account) -> FlaskClient:
    """A test client that sends the account's API token with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {account.token}"
    return client


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Log the browser-like client in through the login form (session cookie)."""
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the login page has no CSRF token"
    response = client.post("/login", data={"csrf_token": token.group(1), "username": username, "password": password})
    assert response.status_code == 303, response.text
