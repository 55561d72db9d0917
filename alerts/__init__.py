"""Alerts and digests (docs/alerts.md): the dashboard tells the admin instead of waiting.

Rooms: rules (the TOML file, checked at start), records (identity, idempotent inserts, the
outbox and the cursors: migration 017), evaluate (judging the rules from the database), frames
(a step's events read into numpy frames), kinds (what each rule kind counts), message
(summaries, links, bodies), digest (the periodic summaries), deliver (the outbox sent by a
thread, at least once), hook (what an ingestion pass calls).
"""
