-- name: spend_by_category
-- description: Completed spend per merchant category in USD: transactions, total, average,
--   share of all spend, flagged share.
-- param: from date default current_date - INTERVAL 30 DAY
-- param: to date default current_date
WITH latest AS (
    SELECT *
    FROM lake.transactions
    WHERE partition_date BETWEEN :from AND :to
    QUALIFY row_number() OVER (PARTITION BY transaction_id
                               ORDER BY processing_timestamp DESC, kafka_offset DESC) = 1
)
SELECT merchant_category,
       count(*)                                               AS transactions,
       sum(amount_usd)                                        AS spend_usd,
       round(avg(amount_usd), 2)                              AS avg_usd,
       round(100.0 * sum(amount_usd) / sum(sum(amount_usd)) OVER (), 2) AS share_pct,
       round(100.0 * count(*) FILTER (WHERE is_flagged) / count(*), 2)  AS flagged_pct
FROM latest
WHERE status = 'completed'
  AND transaction_type IN ('purchase', 'withdrawal', 'transfer')
GROUP BY merchant_category
ORDER BY spend_usd DESC
