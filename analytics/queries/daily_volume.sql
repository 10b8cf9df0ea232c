-- name: daily_volume
-- description: Transactions and volume per day, currency and transaction type
--   (each transaction counted once, in its latest status).
-- param: from date default current_date - INTERVAL 7 DAY
-- param: to date default current_date
WITH latest AS (
    SELECT *
    FROM lake.transactions
    WHERE partition_date BETWEEN :from AND :to
    QUALIFY row_number() OVER (PARTITION BY transaction_id
                               ORDER BY processing_timestamp DESC, kafka_offset DESC) = 1
)
SELECT partition_date                                AS day,
       currency,
       transaction_type,
       count(*)                                      AS transactions,
       sum(amount)                                   AS volume,
       sum(amount_usd)                               AS volume_usd,
       count(*) FILTER (WHERE status = 'completed')  AS completed,
       count(*) FILTER (WHERE status = 'failed')     AS failed,
       count(*) FILTER (WHERE status = 'reversed')   AS reversed,
       count(*) FILTER (WHERE is_flagged)            AS flagged
FROM latest
GROUP BY ALL
ORDER BY day, currency, transaction_type
