-- name: metrics_give_user
-- Gives a user (bind parameter username) a free slot (slot), stamped given_at; does nothing
-- when the slot or the user was given meanwhile (another process's scrape): the caller
-- reads the table again.
INSERT INTO metrics_users (slot, username, given_at) VALUES (:slot, :username, :given_at)
ON CONFLICT DO NOTHING
