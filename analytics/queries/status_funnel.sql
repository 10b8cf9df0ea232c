-- name: status_funnel
-- description: The lifecycle funnel pending → completed / failed, completed → reversed, with the
--   median and p95 time each step took (from the generation times of the events).
-- param: from date default current_date - INTERVAL 7 DAY
-- param: to date default current_date
WITH per_txn AS (
    SELECT transaction_id,
           min(kafka_timestamp) FILTER (WHERE status = 'pending')   AS pending_at,
           min(kafka_timestamp) FILTER (WHERE status = 'completed') AS completed_at,
           min(kafka_timestamp) FILTER (WHERE status = 'failed')    AS failed_at,
           min(kafka_timestamp) FILTER (WHERE status = 'reversed')  AS reversed_at
    FROM lake.transactions
    WHERE partition_date BETWEEN :from AND :to
    GROUP BY transaction_id
), steps AS (
    SELECT 1 AS ord, 'pending' AS step, pending_at IS NOT NULL AS hit, NULL::DOUBLE AS seconds FROM per_txn
    UNION ALL
    SELECT 2, 'pending → completed', pending_at IS NOT NULL AND completed_at IS NOT NULL,
           epoch(completed_at) - epoch(pending_at) FROM per_txn
    UNION ALL
    SELECT 3, 'pending → failed', pending_at IS NOT NULL AND failed_at IS NOT NULL,
           epoch(failed_at) - epoch(pending_at) FROM per_txn
    UNION ALL
    SELECT 4, 'still pending', pending_at IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL, NULL FROM per_txn
    UNION ALL
    SELECT 5, 'completed instantly', pending_at IS NULL AND completed_at IS NOT NULL, NULL FROM per_txn
    UNION ALL
    SELECT 6, 'failed instantly', pending_at IS NULL AND failed_at IS NOT NULL, NULL FROM per_txn
    UNION ALL
    SELECT 7, 'completed → reversed', completed_at IS NOT NULL AND reversed_at IS NOT NULL,
           epoch(reversed_at) - epoch(completed_at) FROM per_txn
)
SELECT step,
       count(*) FILTER (WHERE hit)                                          AS transactions,
       round(100.0 * count(*) FILTER (WHERE hit) / count(*), 2)             AS pct_of_all,
       round(quantile_cont(seconds, 0.5) FILTER (WHERE hit), 3)             AS median_seconds,
       round(quantile_cont(seconds, 0.95) FILTER (WHERE hit), 3)            AS p95_seconds
FROM steps
GROUP BY ord, step
ORDER BY ord
