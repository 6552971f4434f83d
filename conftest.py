"""Fixtures shared by every test suite: real servers started by the repo's own scripts."""

pytest_plugins = [
    "testsupport.moto",
    "testsupport.postgres",
    "testsupport.activemq",
    "testsupport.terraform",
]
