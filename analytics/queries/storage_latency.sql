-- name: storage_latency
-- description: Generation → visible-in-Iceberg latency (p50/p95/p99/max, ms) and throughput per
--   ingest reporting window, newest first, from lake.pipeline_runs.
-- param: since timestamp default now() - INTERVAL 1 DAY
-- param: top bigint default 48
SELECT window_start,
       window_end,
       session_id,
       transactions_written,
       alerts_written,
       round(rows_per_second, 1)        AS rows_per_second,
       round(storage_latency_p50_ms, 1) AS p50_ms,
       round(storage_latency_p95_ms, 1) AS p95_ms,
       round(storage_latency_p99_ms, 1) AS p99_ms,
       round(storage_latency_max_ms, 1) AS max_ms,
       commits,
       commit_retries
FROM lake.pipeline_runs
WHERE window_start >= :since
ORDER BY window_start DESC
LIMIT :top
