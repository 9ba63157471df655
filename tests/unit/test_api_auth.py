"""API tokens: hashed storage, roles, revocation, concurrent writers, damaged token files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from critmat.api.app import create_app
from critmat.api.auth import Role, TokenStore
from critmat.errors import (
    AuthenticationError,
    CorruptStateError,
    ParameterError,
    UnknownNameError,
)


def test_tokens_are_stored_as_argon2_hashes(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token, user = store.add("ana", "analyst", team="red")
    raw = (tmp_path / "api" / "tokens.json").read_text()
    assert token not in raw and token.split("_", 2)[2] not in raw
    (rec,) = json.loads(raw)["tokens"]
    assert rec["hash"].startswith("$argon2id$") and rec["role"] == "analyst"
    assert (tmp_path / "api" / "tokens.json").stat().st_mode & 0o077 == 0  # owner only
    assert store.authenticate(token) == user and user.scope == "team-red"
    assert "hash" not in store.entries()[0]


def test_bad_tokens_and_revocation(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token, _ = store.add("ana", "viewer")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in ("", "abc", forged, "cmt_000000000000_" + "x" * 43):
        with pytest.raises(AuthenticationError):
            store.authenticate(bad)
    with pytest.raises(ParameterError, match="already has an active token"):
        store.add("ana", "admin")
    assert store.revoke("ana") == [token.split("_")[1]]
    with pytest.raises(AuthenticationError):
        store.authenticate(token)
    store.add("bob", "viewer")
    with pytest.raises(UnknownNameError, match="did you mean 'bob'"):
        store.revoke("bobb")
    token2, _ = store.add("ana", "admin")  # a new token after revocation
    assert store.authenticate(token2).role is Role.admin


@pytest.mark.parametrize(("name", "role"), [("a b", "viewer"), ("", "viewer"), ("ok", "boss")])
def test_names_and_roles_are_checked(tmp_path: Path, name: str, role: str) -> None:
    with pytest.raises(ParameterError):
        TokenStore(tmp_path).add(name, role)


def test_concurrent_writers_lose_no_token(tmp_path: Path) -> None:
    code = (
        "import sys; from critmat.api.auth import TokenStore\n"
        "s = TokenStore(sys.argv[1])\n"
        "for i in range(3): print(s.add(f'{sys.argv[2]}-{i}', 'viewer')[0])\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), f"p{n}"], stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    tokens = [t for p in procs for t in p.communicate()[0].split()]
    assert all(p.returncode == 0 for p in procs)
    store = TokenStore(tmp_path)
    assert len(store.entries()) == 12
    assert all(store.authenticate(t).role is Role.viewer for t in tokens)


def test_damaged_token_file_is_reported_not_followed(tmp_path: Path) -> None:
    token, _ = TokenStore(tmp_path).add("ana", "admin")
    (tmp_path / "api" / "tokens.json").write_text("{not json")
    with pytest.raises(CorruptStateError, match="not valid JSON"):
        TokenStore(tmp_path).entries()
    client = TestClient(create_app(tmp_path, rate_limit=0))
    r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "corrupt_state"
    assert "critmat users add" in r.json()["error"]["remedy"]


def test_verified_tokens_are_remembered_until_their_record_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 runs once per token: adding another token keeps the verified ones; revoking
    one (another process writing the file) drops exactly that one, on its next request."""
    import critmat.api.auth as auth_module

    store = TokenStore(tmp_path)
    ana, _ = store.add("ana", "viewer")
    bob, _ = store.add("bob", "analyst")
    real = auth_module._hasher
    verified: list[str] = []

    class Counting:
        def hash(self, token: str) -> str:
            return str(real().hash(token))

        def verify(self, hashed: str, token: str) -> bool:
            verified.append(token)
            return bool(real().verify(hashed, token))

    monkeypatch.setattr(auth_module, "_hasher", Counting)
    server = TokenStore(tmp_path)  # the server's store (the CLI writes through another)
    for _ in range(3):
        assert server.authenticate(ana).name == "ana"
        assert server.authenticate(bob).name == "bob"
    assert verified == [ana, bob]
    store.add("carol", "viewer")  # the file changes: ana and bob stay verified
    assert server.authenticate(ana).name == "ana" and server.authenticate(bob).name == "bob"
    assert verified == [ana, bob]
    store.revoke("ana")
    with pytest.raises(AuthenticationError):
        server.authenticate(ana)
    assert server.authenticate(bob).role is Role.analyst
    assert verified == [ana, bob]  # bob's record did not change; ana was refused unverified
