"""User imports run the invariant checks like the build; ``kb.sql`` is read-only in fact.

Issue 9 item 7: an import left gallium's global processing shares summing to 0.563 with no
warning; ``kb.sql`` accepted ``CREATE TABLE`` and ``read_csv('/etc/hostname')``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import pytest

import critmat
from critmat.checks import CheckFailed, CheckWarning
from critmat.data.store import check_read_only
from critmat.errors import ReadOnlySQLError
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv

# EU CRM 2023 global processing shares of gallium (embedded, eu_crm_2023_gs): CHN 0.938, DEU
# 0.003, JPN 0.010, KOR 0.009, RUS 0.019, UKR 0.022 (sum 1.001). Replacing China's share by
# 0.5 leaves 0.5 + 0.063 = 0.563.
GALLIUM = """
    material,stage,mix,country,share
    gallium,processing,global,CHN,0.5
    """


def test_import_leaving_shares_at_0563_warns(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ga.csv", GALLIUM)
    with pytest.warns(CheckWarning, match=r"gallium, stage=processing: shares sum to 0\.563"):
        res = user_kb.import_file(path, "eu_crm_2023")
    assert res.rows_in_file == 1  # warn mode: the import landed
    (v,) = res.violations
    assert v.groups["total"].round(3).tolist() == [0.563]
    assert "1 invariant violation" in res.summary()
    share = user_kb.eu_crm_2023(materials="gallium", stage="processing", mix="global")
    assert share.set_index("country").loc["CHN", "share"] == 0.5


def test_strict_refuses_and_writes_nothing(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ga.csv", GALLIUM)
    with pytest.raises(CheckFailed, match=r"0\.563") as err:
        user_kb.import_file(path, "eu_crm_2023", checks="strict")
    assert "nothing was imported" in str(err.value)
    assert user_kb.user is not None and "eu_crm_2023" not in user_kb.user.tables()


def test_checks_off_and_consistent_imports_are_silent(
    user_kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "ga.csv", GALLIUM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert user_kb.import_file(path, "eu_crm_2023", checks="off").violations == ()
        # moving 0.1 of China's share to Germany keeps the sum at 1.001: no violation
        fine = write_csv(
            tmp_path / "fine.csv",
            """
            material,stage,mix,country,share
            gallium,processing,global,CHN,0.838
            gallium,processing,global,DEU,0.103
            """,
        )
        assert user_kb.import_file(fine, "eu_crm_2023", checks="strict").violations == ()


def test_only_groups_the_import_touches_are_checked(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    """Embedded groups that already deviate (documented in the build report) are not blamed."""
    kb = critmat.load(user_data=False)
    glob = kb.eu_crm_2023(mix="global")
    totals = glob.groupby(["material", "stage"])["share"].sum()
    off = totals[(totals - 1).abs() > 0.05]
    assert len(off) > 0  # there are such groups in the published tables
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = user_kb.import_file(
            write_csv(tmp_path / "end.csv", GALLIUM.replace("0.5", "0.938")), "eu_crm_2023"
        )
    assert res.violations == ()


def test_cli_prints_violations_and_strict_exits_nonzero(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ga.csv", GALLIUM)
    base = [sys.executable, "-m", "critmat", "data", "import", str(path), "-t", "eu_crm_2023"]
    warn = subprocess.run(
        [*base, "--data-dir", str(tmp_path / "a")], capture_output=True, text=True, check=False
    )
    assert warn.returncode == 0, warn.stderr
    text = " ".join(warn.stderr.split())  # the console wraps long lines
    assert "1 invariant violation after this import" in text
    assert "shares sum to 0.563, expected 1" in text and "Traceback" not in text
    strict = subprocess.run(
        [*base, "--data-dir", str(tmp_path / "b"), "--checks", "strict"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert strict.returncode == 1 and "nothing was imported" in " ".join(strict.stderr.split())
    assert not (tmp_path / "b" / "manifest.json").exists()
    bad = subprocess.run(
        [*base, "--data-dir", str(tmp_path / "c"), "--checks", "loud"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "checks must be one of strict, warn, off" in " ".join(bad.stderr.split())


# ----------------------------------------------------------------------------- read-only SQL

_WRITES = [
    "create table x (a int)",
    "create view v as select 1",
    "insert into units values ('x', 'mass', 't', 1, '', 'u')",
    "update units set factor_to_canonical = 2",
    "delete from units",
    "drop view units",
    "copy units to 'units.csv'",
    "attach ':memory:' as other",
    "pragma enable_profiling",
    "set threads = 1",
    "install httpfs",
    "load httpfs",
    "checkpoint",
    "export database 'dump'",
    "select 1; drop view units",
]


@pytest.mark.parametrize("sql", _WRITES)
def test_statement_check_refuses_ddl_and_dml(kb: KnowledgeBase, sql: str) -> None:
    with pytest.raises(ReadOnlySQLError):
        kb.sql(sql)
    assert len(kb.sql("select * from units")) == 22  # nothing changed


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/hostname')",
        "select * from read_text('/etc/hostname')",
        "select * from read_json('/etc/hostname')",
        "select * from glob('/*')",
        "select * from read_parquet('/tmp/*.parquet')",
        "select * from read_parquet('{embedded}/../../../../../../../../etc/hostname')",
    ],
)
def test_file_functions_outside_the_package_are_refused(kb: KnowledgeBase, sql: str) -> None:
    with pytest.raises(ReadOnlySQLError, match="no other files"):
        kb.sql(sql.format(embedded=kb.store.embedded))


def test_read_only_queries_still_work(kb: KnowledgeBase) -> None:
    assert int(kb.sql("select count(*) as n from nato_2024")["n"].iloc[0]) == 12
    assert "hs6" in set(kb.sql("describe trade")["column_name"])
    assert len(kb.sql("with t as (from units) select unit from t where dimension = ?", ["mass"]))
    assert "trade" in set(kb.sql("show tables")["name"])
    # package data may still be read directly
    path = kb.store.embedded / "units.parquet"
    assert len(kb.sql(f"select * from read_parquet('{path}')")) == 22


def test_both_mechanisms_hold_on_their_own(kb: KnowledgeBase) -> None:
    con = kb.store.con
    # 1. the statement check alone, without running anything
    with pytest.raises(ReadOnlySQLError, match="type CREATE"):
        check_read_only(con, "create table t as select 1")
    check_read_only(con, "select 1")
    # 2. the connection's own lock-down, bypassing the statement check
    with pytest.raises(duckdb.PermissionException):
        con.sql("select * from read_csv('/etc/hostname')").fetchall()
    with pytest.raises(duckdb.Error, match=r"lock_configuration|Cannot change"):
        con.execute("set enable_external_access = true")


def test_cli_query_refuses_writes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "critmat", "data", "query", "create table t (a int)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "critmat", "data", "query", "select 1 as one", "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ok.stdout) == [{"one": 1}]
