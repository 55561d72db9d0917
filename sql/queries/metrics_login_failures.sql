-- name: metrics_login_failures
-- Returns the failed logins of all time per node, method and protocol ('' when absent):
-- node, method, protocol, events. Reads login_failures_method_daily (one cell per day,
-- method, protocol and node: a few thousand for a year), never the events.
SELECT node, method, protocol, SUM(events) AS events
FROM login_failures_method_daily
GROUP BY node, method, protocol
