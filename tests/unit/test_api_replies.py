"""Stored answers of repeated frame requests (critmat.api.app.ReplyMiddleware): the same bytes
as a computation, authentication and roles checked on every request, and no answer over one
user's private data ever sent to another user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from critmat.api.app import ReplyMiddleware, ReplyStore, canonical_query, create_app
from critmat.api.auth import Role, TokenStore
from tests.api_support import auth, make_tokens

BOM = "system,component,material,kg_per_unit,kind,source\n{system},radar,gallium,0.5,user,own\n"
GEO = "/indicators/geopolrisk?materials=gallium,germanium&importers=EU27&years=2022&page_size=1"
GEO_REORDERED = (
    "/indicators/geopolrisk?page_size=1&years=2022&importers=EU27&materials=gallium%2Cgermanium"
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str], Path]:
    data_dir = tmp_path_factory.mktemp("api-replies")
    tokens = make_tokens(data_dir)
    store = TokenStore(data_dir)
    for name in ("alice", "bob"):
        tokens[name] = store.add(name, "analyst")[0]
    app = create_app(data_dir, rate_limit=0)
    return TestClient(app), tokens, data_dir


def _store(client: Any) -> ReplyStore:
    store: ReplyStore = client.app.state.reply_store
    return store


def test_canonical_query() -> None:
    assert canonical_query(b"b=2&a=1&a=0") == "a=1&a=0&b=2"  # repeated names keep their order
    assert canonical_query(b"materials=gallium%2Cgermanium") == "materials=gallium%2Cgermanium"
    assert canonical_query(b"materials=gallium,germanium") == "materials=gallium%2Cgermanium"
    assert canonical_query(b"") == ""


def test_a_stored_answer_is_the_computed_one(api: Any, tmp_path: Path) -> None:
    client, tokens, _ = api
    store = _store(client)
    first = client.get(GEO, headers=auth(tokens["viewer"]))
    assert first.status_code == 200 and first.json()["next"]
    hits = store.hits
    again = client.get(GEO, headers=auth(tokens["admin"]))  # another user, the same data
    reordered = client.get(GEO_REORDERED, headers=auth(tokens["viewer"]))
    assert store.hits == hits + 2
    for r in (again, reordered):
        assert r.status_code == 200 and r.content == first.content
        for h in ("content-type", "content-length", "x-total-count", "x-pages", "link"):
            assert r.headers[h] == first.headers[h], h
    # a server that never saw the first spelling computes the same bytes for the second
    cold_tokens = make_tokens(tmp_path)
    cold = TestClient(create_app(tmp_path, rate_limit=0))
    fresh = cold.get(GEO_REORDERED, headers=auth(cold_tokens["viewer"])).json()
    stored = reordered.json()
    for body in (fresh, stored):  # the time of the computation is the only difference
        body["provenance"].pop("created")
    assert fresh == stored and fresh["next"] == first.json()["next"]
    # the format is part of the key: CSV from the Accept header is another answer
    csv = client.get(GEO, headers={**auth(tokens["viewer"]), "Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content != first.content


def test_no_stored_answer_without_a_valid_token(api: Any, tmp_path: Path) -> None:
    client, tokens, _ = api
    assert client.get(GEO, headers=auth(tokens["viewer"])).status_code == 200  # stored
    for headers in ({}, auth("not-a-token"), auth(tokens["viewer"][:-3] + "xyz")):
        r = client.get(GEO, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    # a revoked token is refused on its next request, its answer stored or not
    store = TokenStore(client.app.state.data_dir)
    token, _ = store.add("short-lived", "viewer")
    assert client.get(GEO, headers=auth(token)).status_code == 200
    store.revoke("short-lived")
    assert client.get(GEO, headers=auth(token)).status_code == 401


def _bom(client: Any, token: str) -> Any:
    return client.get("/defence/bom?which=user", headers=auth(token))


def _upload(client: Any, token: str, system: str) -> None:
    r = client.post(
        "/data/imports",
        files={"file": ("bom.csv", BOM.format(system=system).encode(), "text/csv")},
        data={"table": "bom"},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text


def test_private_answers_never_reach_another_user(api: Any) -> None:
    """The same URL, Accept and Host for everyone: only the data scope tells them apart."""
    client, tokens, _ = api
    alice, bob = tokens["alice"], tokens["bob"]
    shared = _bom(client, bob).content  # stored for every scope without private data
    assert b"AliceSecret" not in shared
    _upload(client, alice, "AliceSecretSystem")
    mine = _bom(client, alice)
    assert mine.status_code == 200 and b"AliceSecretSystem" in mine.content
    hits = _store(client).hits
    assert _bom(client, alice).content == mine.content  # alice's own answer, stored
    assert _store(client).hits == hits + 1
    for who in ("bob", "viewer", "admin"):
        r = _bom(client, tokens[who])
        assert r.status_code == 200 and b"AliceSecret" not in r.content, who
        assert r.content == shared, who
    # bob's own upload changes his data stamp: a new answer, his, not alice's and not stale
    _upload(client, bob, "BobsSystem")
    theirs = _bom(client, bob).content
    assert b"BobsSystem" in theirs and b"AliceSecret" not in theirs
    assert b"BobsSystem" not in _bom(client, alice).content
    # alice removes her table: her answers follow her data
    assert client.delete("/data/tables/bom", headers=auth(alice)).status_code == 200
    assert b"AliceSecret" not in _bom(client, alice).content


class _Scopes:
    def version(self, scope: str) -> tuple[str, int]:
        return ("", 1)


def test_the_role_is_checked_before_a_stored_answer(tmp_path: Path) -> None:
    """A route for analysts: an analyst's stored answer never reaches a viewer."""
    tokens = make_tokens(tmp_path)
    calls: list[str] = []

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        who = dict(scope["headers"]).get(b"authorization", b"").decode()
        calls.append(who)
        status = 200 if tokens["analyst"] in who else 403
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"analysts only"})

    class State:
        pass

    state = State()
    state.tokens = TokenStore(tmp_path)  # type: ignore[attr-defined]
    state.scopes = _Scopes()  # type: ignore[attr-defined]
    state.reply_store = ReplyStore()  # type: ignore[attr-defined]
    app = ReplyMiddleware(route, paths={"/secret": Role.analyst}, state=state)
    client = TestClient(app)  # type: ignore[arg-type]
    assert client.get("/secret", headers=auth(tokens["analyst"])).status_code == 200
    assert client.get("/secret", headers=auth(tokens["analyst"])).status_code == 200
    assert len(calls) == 1  # the second answer was the stored one
    for _ in range(2):
        r = client.get("/secret", headers=auth(tokens["viewer"]))
        assert r.status_code == 403
    assert len(calls) == 3  # the viewer went to the route both times
    assert client.get("/secret", headers=auth(tokens["admin"])).status_code == 200
    assert len(calls) == 3  # admin outranks analyst: the stored answer


def test_the_store_is_bounded() -> None:
    store = ReplyStore(max_items=3, max_bytes=10, max_body=6)
    store.put("big", [], b"x" * 7)
    assert store.get("big") is None  # larger than max_body: not kept
    for k in ("a", "b", "c"):
        store.put(k, [], b"xxxx")
    assert len(store) == 2 and store.get("a") is None  # 12 bytes > 10: the oldest went
    store.put("d", [], b"xxx")  # 11 bytes: b, the least recently used, goes
    assert store.get("b") is None and store.get("c") is not None and store.get("d") is not None
    store.put("e", [], b"")
    store.put("f", [], b"")  # four answers > max_items: c goes
    assert store.get("c") is None and len(store) == 3
