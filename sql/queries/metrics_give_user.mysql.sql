-- name: metrics_give_user (MySQL/MariaDB)
-- What metrics_give_user.sql does: a slot or a user given meanwhile is left as it is (the
-- no-op update; INSERT IGNORE would hide other errors too).
INSERT INTO metrics_users (slot, username, given_at) VALUES (:slot, :username, :given_at)
ON DUPLICATE KEY UPDATE slot = slot
