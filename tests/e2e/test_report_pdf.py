"""`critmat assess --report x.pdf`: a real PDF and its HTML twin from one report, with the
executive summary first, the data file beside them, and "what changed" from --previous."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._chromium import chromium_or_skip


def _critmat(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmat", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_pdf_report_with_summary_and_previous(tmp_path: Path) -> None:
    chromium_or_skip()
    from pypdf import PdfReader

    r = _critmat("assess", "--whatif-samples", "40", "--report", "first.pdf", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pdf = tmp_path / "first.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    html = (tmp_path / "first.html").read_text(encoding="utf-8")
    assert html.index("Executive summary") < html.index("Summary table")
    assert "Sources:" in html and "figure-source" in html  # every figure traced
    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 5
    first = reader.pages[0].extract_text()
    assert "Executive summary" in first and "Most exposed materials" in first
    assert "Most exposed defence systems" in first and "F-35" in first
    assert "Summary table" not in first  # the summary has its page to itself
    data = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    assert data["format"] == "critmat-report-data/1"
    gallium = next(m for m in data["materials"] if m["material"] == "gallium")
    assert gallium["china_processing"] == pytest.approx(
        900 / 909
    )  # USGS MCS 2026 (2025e), the newest vintage

    # an earlier report with a changed value: the new summary lists the change
    gallium["china_processing"] = 0.5
    gallium["critical"] = False
    (tmp_path / "old.json").write_text(json.dumps(data), encoding="utf-8")
    r = _critmat(
        "assess",
        "--whatif-samples",
        "0",
        "--report",
        "second.html",
        "--previous",
        "old.json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "second.html").read_text(encoding="utf-8")
    summary = page[page.index("Executive summary") : page.index("Summary table")]
    assert "What changed since" in summary
    assert "China share, processing" in summary and "50%" in summary and "99%" in summary
    assert "critical (EU thresholds)" in summary


def test_bad_suffix_previous_and_missing_chromium(tmp_path: Path) -> None:
    r = _critmat("assess", "--whatif-samples", "0", "--report", "x.docx", cwd=tmp_path)
    assert r.returncode != 0 and "unknown suffix '.docx'" in r.stderr + r.stdout
    assert ".pdf" in r.stderr + r.stdout and "Traceback" not in r.stderr
    (tmp_path / "junk.json").write_text("[1, 2]", encoding="utf-8")
    r = _critmat("assess", "--report", "x.html", "--previous", "junk.json", cwd=tmp_path)
    assert r.returncode != 0 and "not a critmat report data file" in r.stderr + r.stdout
    r = _critmat(
        "assess",
        "--whatif-samples",
        "0",
        "--report",
        "x.pdf",
        cwd=tmp_path,
        env={"CRITMAT_CHROMIUM": str(tmp_path / "no-such-browser")},
    )
    out = r.stderr + r.stdout
    assert r.returncode != 0 and "CRITMAT_CHROMIUM" in out and "Traceback" not in out
    assert not (tmp_path / "x.pdf").exists()
