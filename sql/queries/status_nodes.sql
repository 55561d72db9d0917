-- name: status_nodes
-- Returns each node's last pass and last error: node, last_pass_at, last_pass_epoch (the
-- database's clock, seconds), last_error, last_error_at, and the files its last pass left
-- for a later one with their size on disk (files_waiting, bytes_waiting).
SELECT node, last_pass_at, last_pass_epoch, last_error, last_error_at, files_waiting,
       bytes_waiting FROM node_status
