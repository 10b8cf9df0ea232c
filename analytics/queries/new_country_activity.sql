-- name: new_country_activity
-- description: Accounts transacting in a country new to them (new_country alerts) per day and
--   country: alerts, accounts, amounts, and the accounts' usual countries.
-- param: since timestamp default now() - INTERVAL 7 DAY
WITH alerts AS (
    SELECT *
    FROM lake.alerts
    WHERE rule_type = 'new_country' AND alert_timestamp >= :since
), usual AS (
    SELECT account_id, string_agg(DISTINCT location_country, ', ' ORDER BY location_country) AS countries
    FROM lake.transactions
    WHERE account_id IN (SELECT account_id FROM alerts)
    GROUP BY account_id
)
SELECT CAST(a.transaction_timestamp AS DATE)      AS day,
       a.location_country                         AS new_country,
       count(*)                                   AS alerts,
       count(DISTINCT a.account_id)               AS accounts,
       string_agg(DISTINCT a.currency, ', ')      AS currencies,
       sum(a.amount)                              AS amount,
       string_agg(DISTINCT a.account_id || ' (' || u.countries || ')', '; ') AS accounts_and_all_countries
FROM alerts a LEFT JOIN usual u USING (account_id)
GROUP BY ALL
ORDER BY day DESC, alerts DESC
