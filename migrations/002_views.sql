-- 002: the reporting views. They are a documented interface (README.md,
-- "PostgreSQL"): change them only by a new migration.

-- current_suppressions is the suppression list in force now: not lifted and
-- not expired. Campaign tools read this.
CREATE VIEW current_suppressions AS
SELECT s.address,
       lower(split_part(s.address, '@', -1)) AS domain,
       s.reason,
       s.scope,
       s.first_seen,
       s.last_seen,
       s.bounce_count,
       s.expires_at,
       s.manual,
       s.evidence_message_id,
       s.evidence_status,
       s.evidence_diagnostic,
       s.active_since,
       s.updated_at
FROM suppressions AS s
WHERE s.lifted_at IS NULL
  AND (s.expires_at IS NULL OR s.expires_at > now());

-- daily_bounces counts bounce events per UTC day, reason and recipient
-- domain, with the number of distinct addresses.
CREATE VIEW daily_bounces AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
       e.reason,
       e.scope,
       e.recipient_domain,
       count(*) AS bounces,
       count(DISTINCT lower(e.recipient)) AS addresses
FROM bounce_events AS e
GROUP BY 1, 2, 3, 4;

-- sender_incidents lists the sender-side failures (scope 'sender': your
-- setup or reputation, not the recipient) per UTC day, sending domain,
-- reporting MTA and recipient domain, with what to do about them.
CREATE VIEW sender_incidents AS
SELECT r.day,
       r.sending_domain,
       r.reporting_mta,
       r.recipient_domain,
       r.reason,
       r.incidents,
       r.first_seen,
       r.last_seen,
       en.fix AS fix_en,
       de.fix AS fix_de
FROM reputation_daily AS r
JOIN reasons AS rs ON rs.reason = r.reason AND rs.scope = 'sender'
LEFT JOIN reason_texts AS en ON en.reason = r.reason AND en.lang = 'en'
LEFT JOIN reason_texts AS de ON de.reason = r.reason AND de.lang = 'de';

-- soft_bounce_state shows, per address, the soft bounces that still count
-- towards a suppression (those within the policy window of the newest one,
-- and after any manual lift), and whether the address is suppressed now.
CREATE VIEW soft_bounce_state AS
SELECT b.address,
       cardinality(b.bounce_times) AS counted_bounces,
       (SELECT min(t) FROM unnest(b.bounce_times) AS t) AS first_counted,
       b.last_seen,
       b.last_reason,
       b.counted_since,
       c.address IS NOT NULL AS suppressed,
       c.expires_at AS suppressed_until
FROM soft_bounces AS b
LEFT JOIN current_suppressions AS c ON lower(c.address) = lower(b.address);
