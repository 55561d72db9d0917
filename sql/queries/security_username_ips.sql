-- name: security_username_ips
-- Returns, for the names `usernames` (an expanding list: the rows by_username lists),
-- username and ips: the distinct non-empty IPs that tried each in failed logins in
-- start..end (names with none are left out). The pairs' (username, ip, node) index finds a
-- name's pairs; they count as in security_ip_usernames (an IP on two nodes is one IP).
SELECT p.username, COUNT(DISTINCT p.ip) AS ips
FROM login_failure_pairs p
WHERE p.username IN :usernames AND p.ip <> '' AND p.first_day <= :end AND p.last_day >= :start
  /*nodes*/
  AND (p.first_day >= :start OR p.last_day <= :end
       OR EXISTS (SELECT 1 FROM login_failure_pair_days d
                  WHERE d.ip = p.ip AND d.username = p.username AND d.node = p.node
                    AND d.day >= :start AND d.day <= :end))
GROUP BY p.username
