"""The dashboard's engine room: reads, figures, the JSON API and the per-process context.

Rooms: queries (stats and status reads on daily_stats), params (what a URL asks: the range,
users_limit, node=), node_scope (the node filter of the named SQL), figures (rows ->
Plotly figures), api (/api/stats, /api/status), limits (request and answer bounds),
context (one process's settings, engine and ingester). The page itself is built by
components/ (layout) and callbacks/ (behaviour), wired by app.py.
"""
