-- name: alert_rate
-- description: Alerts per hour by rule and severity, and per 100 transactions of that hour
--   (hours of the transactions' event time).
-- param: since timestamp default now() - INTERVAL 24 HOUR
WITH a AS (
    SELECT date_trunc('hour', transaction_timestamp) AS hour, rule_name, severity, count(*) AS alerts
    FROM lake.alerts
    WHERE transaction_timestamp >= :since
    GROUP BY ALL
), t AS (
    SELECT date_trunc('hour', "timestamp") AS hour, count(DISTINCT transaction_id) AS transactions
    FROM lake.transactions
    WHERE "timestamp" >= :since
    GROUP BY ALL
)
SELECT a.hour,
       a.rule_name,
       a.severity,
       a.alerts,
       t.transactions,
       round(100.0 * a.alerts / nullif(t.transactions, 0), 3) AS alerts_per_100_transactions
FROM a LEFT JOIN t USING (hour)
ORDER BY a.hour, a.rule_name, a.severity
