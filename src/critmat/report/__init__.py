"""Reports: plotly charts and self-contained HTML documents over critmat results."""
