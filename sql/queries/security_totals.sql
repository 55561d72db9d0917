-- name: security_totals
-- Returns one row for the days start..end (bind parameters, 'YYYY-MM-DD', inclusive):
-- login_failures, ips (distinct non-empty), usernames (distinct non-empty, byte for byte),
-- bans, banned_ips (distinct non-empty). Reads the coarse rollups only: a cell per day and
-- IP, per day and name (migration 010), each with the node at the end of its key.
SELECT
    (SELECT COALESCE(SUM(events), 0) FROM login_failures_ip_daily
      WHERE day >= :start AND day <= :end /*nodes*/) AS login_failures,
    (SELECT COUNT(DISTINCT ip) FROM login_failures_ip_daily
      WHERE day >= :start AND day <= :end /*nodes*/ AND ip <> '') AS ips,
    (SELECT COUNT(DISTINCT username) FROM login_failures_user_daily
      WHERE day >= :start AND day <= :end /*nodes*/ AND username <> '') AS usernames,
    (SELECT COALESCE(SUM(events), 0) FROM bans_daily
      WHERE day >= :start AND day <= :end /*nodes*/) AS bans,
    (SELECT COUNT(DISTINCT ip) FROM bans_daily
      WHERE day >= :start AND day <= :end /*nodes*/ AND ip <> '') AS banned_ips
