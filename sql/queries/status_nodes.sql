-- name: status_nodes
-- Returns each node's last pass and last error: node, last_pass_at, last_pass_epoch (the
-- database's clock, seconds), last_error, last_error_at.
SELECT node, last_pass_at, last_pass_epoch, last_error, last_error_at FROM node_status
