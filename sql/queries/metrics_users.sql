-- name: metrics_users
-- Returns the users given series of their own on /metrics: slot (1 to METRICS_MAX_USERS
-- when given), username.
SELECT slot, username FROM metrics_users
