-- name: snapshot_diff
-- description: What changed in lake.transactions between two snapshots (time travel): rows added
--   and removed per status, with transactions and USD amount. before/after are snapshot ids
--   (lakectl snapshots transactions), times (RFC 3339 or -1h), or "current".
-- param: before asof
-- param: after asof default current
WITH b AS (
    SELECT kafka_partition, kafka_offset, transaction_id, status, amount_usd
    FROM lake.transactions :before
), a AS (
    SELECT kafka_partition, kafka_offset, transaction_id, status, amount_usd
    FROM lake.transactions :after
), changes AS (
    SELECT 'added' AS change, * FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)
    UNION ALL
    SELECT 'removed' AS change, * FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)
)
SELECT change,
       status,
       count(*)                       AS rows,
       count(DISTINCT transaction_id) AS transactions,
       sum(amount_usd)                AS amount_usd
FROM changes
GROUP BY ALL
ORDER BY change, status
