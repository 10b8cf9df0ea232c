-- name: alerts_with_transactions
-- description: Each alert with the full context of its transaction (latest status, USD amount,
--   merchant category, type), newest first.
-- param: since timestamp default now() - INTERVAL 1 DAY
-- param: min_severity varchar default 'low'
-- param: rule varchar default NULL
-- param: top bigint default 200
WITH latest AS (
    SELECT *
    FROM lake.transactions
    WHERE "timestamp" >= :since - INTERVAL 2 DAY
    QUALIFY row_number() OVER (PARTITION BY transaction_id
                               ORDER BY processing_timestamp DESC, kafka_offset DESC) = 1
)
SELECT a.alert_timestamp,
       a.severity,
       a.rule_name,
       a.rule_version,
       a.description,
       a.account_id,
       a.transaction_id,
       t."timestamp"          AS transaction_time,
       t.status,
       t.transaction_type,
       t.amount,
       t.currency,
       t.amount_usd,
       t.merchant_name,
       t.merchant_category,
       t.location_country
FROM lake.alerts a
LEFT JOIN latest t USING (transaction_id)
WHERE a.alert_timestamp >= :since
  AND (CASE a.severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)
      >= (CASE :min_severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)
  AND (:rule IS NULL OR a.rule_name = :rule)
ORDER BY a.alert_timestamp DESC, a.rule_name
LIMIT :top
