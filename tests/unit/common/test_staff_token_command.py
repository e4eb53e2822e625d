"""``collections-admin staff-token``: tokens the local run's services accept, and only the local run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from collections_common.admin import DEV_KEY_NAME, main
from collections_common.auth import Role, StaffPrincipal, TokenVerifier
from collections_common.settings import ServiceSettings


@pytest.fixture
def local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    jwks = tmp_path / "auth" / "jwks.json"
    for name in ("AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_ROLES_CLAIM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("AUTH_JWKS_URL", str(jwks))
    return jwks


def mint(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["staff-token", *args]) == 0
    return capsys.readouterr().out.strip()


class TestStaffTokenCommand:
    async def test_the_token_verifies_against_the_jwks_the_services_read(
        self, local_run: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        token = mint(capsys, "--role", "collector", "--role", "legal", "--sub", "alice", "--name", "Alice")
        auth = ServiceSettings().staff_auth
        assert auth is not None
        principal = await TokenVerifier.from_settings(auth).verify(token)
        assert principal == StaffPrincipal("alice", frozenset({Role.COLLECTOR, Role.LEGAL}), "Alice")

    def test_the_dev_key_is_made_once_readable_by_its_owner_only(
        self, local_run: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mint(capsys, "--role", "collector", "--sub", "alice")
        key = local_run.parent / DEV_KEY_NAME
        first = key.read_bytes()
        jwks = local_run.read_text()
        mint(capsys, "--role", "auditor", "--sub", "bob")
        assert key.read_bytes() == first
        assert local_run.read_text() == jwks
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert "d" not in json.loads(jwks)["keys"][0]  # the private exponent is never published

    def test_outside_the_local_run_it_refuses(
        self, local_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("ENVIRONMENT", "production")
        with pytest.raises(SystemExit, match="local run only"):
            main(["staff-token", "--role", "collector", "--sub", "alice"])
        assert not local_run.exists()

    def test_an_unknown_role_is_refused(self, local_run: Path) -> None:
        with pytest.raises(SystemExit):
            main(["staff-token", "--role", "janitor", "--sub", "alice"])
