-- name: top_flagged_accounts
-- description: Accounts with the most alerts: how many, which rules, the worst severity, when
-- param: since timestamp default now() - INTERVAL 7 DAY
-- param: top bigint default 20
SELECT account_id,
       count(*)                                            AS alerts,
       count(DISTINCT transaction_id)                      AS flagged_transactions,
       string_agg(DISTINCT rule_name, ', ' ORDER BY rule_name) AS rules,
       CASE max(CASE severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)
            WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high' WHEN 4 THEN 'critical' END AS worst_severity,
       min(alert_timestamp)                                AS first_alert,
       max(alert_timestamp)                                AS last_alert
FROM lake.alerts
WHERE alert_timestamp >= :since
GROUP BY account_id
ORDER BY alerts DESC, account_id
LIMIT :top
