-- name: insight_hours
-- Returns the events but bans between the days start and end (both included) per day and
-- hour of their ts: day, hour, events. Reads events_hourly (migration 018): 24 cells a day.
SELECT day, hour, SUM(events) AS events
FROM events_hourly
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY day, hour
