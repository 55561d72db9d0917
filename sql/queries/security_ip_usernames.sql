-- name: security_ip_usernames
-- Returns, for the IPs `ips` (an expanding list: the rows by_ip lists), ip and usernames: the
-- distinct non-empty names each tried in failed logins in start..end (IPs with none are
-- left out). Each ip x name x node pair of all time (with its first and last day of
-- failures) is skipped when those days miss the range, counts when its first or last day is
-- in the range (a failure on that day), and only a pair whose days span the whole range is
-- probed in login_failure_pair_days (one short range of its key): a read of the listed IPs'
-- pairs, never of the range's cells. A name tried from one IP on two nodes is two pairs and
-- one name: COUNT(DISTINCT) over the pairs of the nodes asked for (all by default).
SELECT p.ip, COUNT(DISTINCT p.username) AS usernames
FROM login_failure_pairs p
WHERE p.ip IN :ips AND p.username <> '' AND p.first_day <= :end AND p.last_day >= :start
  /*nodes*/
  AND (p.first_day >= :start OR p.last_day <= :end
       OR EXISTS (SELECT 1 FROM login_failure_pair_days d
                  WHERE d.ip = p.ip AND d.username = p.username AND d.node = p.node
                    AND d.day >= :start AND d.day <= :end))
GROUP BY p.ip
