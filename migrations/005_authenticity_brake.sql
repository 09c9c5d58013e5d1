-- 005: the authenticity of each bounce (DESIGN.md, "Authenticity"), and the
-- brake on mass suppression: suppressions beyond a mailbox's per-message or
-- per-hour limit are held, not put in force, until an operator releases them.

-- authenticity says whether the bounce provably answers mail we sent:
-- 'verified' (delivered to a signed return path that checks out for the
-- recipient), 'invalid' (a signed return path that does not) or 'unsigned'.
-- Events recorded before this file were all unsigned.
ALTER TABLE bounce_events ADD COLUMN authenticity text NOT NULL DEFAULT 'unsigned'
	CHECK (authenticity IN ('verified', 'invalid', 'unsigned'));

-- evidence_authenticity is the authenticity of the bounce that is the
-- suppression's evidence; '' for one added by hand.
ALTER TABLE suppressions ADD COLUMN evidence_authenticity text NOT NULL DEFAULT 'unsigned'
	CHECK (evidence_authenticity IN ('', 'verified', 'invalid', 'unsigned'));
UPDATE suppressions SET evidence_authenticity = '' WHERE manual AND bounce_count = 0;

-- held_suppressions holds the suppressions the brake stopped: one row per
-- address, never in force (current_suppressions and every lookup read the
-- suppressions table only) and never in the webhooks' change feed. A release
-- moves the row into suppressions (audited); a discard deletes it (audited).
-- held_by names the limit that held it: 'per_message' or 'per_hour'.
CREATE TABLE held_suppressions (
	id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	address               text NOT NULL CHECK (address LIKE '%_@_%'),
	mailbox               text NOT NULL,
	reason                reason_id NOT NULL,
	scope                 text NOT NULL CHECK (scope IN ('recipient', 'sender', 'transient', 'none')),
	first_seen            timestamptz NOT NULL,
	last_seen             timestamptz NOT NULL,
	bounce_count          integer NOT NULL CHECK (bounce_count >= 0),
	expires_at            timestamptz,  -- NULL: permanent once released
	evidence_message_id   text NOT NULL DEFAULT '',  -- the returned original's Message-ID
	evidence_status       text NOT NULL DEFAULT '',
	evidence_diagnostic   text NOT NULL DEFAULT '',
	evidence_authenticity text NOT NULL CHECK (evidence_authenticity IN ('verified', 'invalid', 'unsigned')),
	bounce_message_id     text NOT NULL DEFAULT '',  -- the bounce's own Message-ID
	held_by               text NOT NULL CHECK (held_by IN ('per_message', 'per_hour')),
	held_at               timestamptz NOT NULL,
	updated_at            timestamptz NOT NULL
);

CREATE UNIQUE INDEX held_suppressions_address_key ON held_suppressions (lower(address));
CREATE INDEX held_suppressions_mailbox_idx ON held_suppressions (mailbox, held_at);

-- suppression_starts counts, per mailbox, the suppressions its batches
-- started (one row per batch that started any), so that the per-hour limit
-- holds across replicas and restarts. Rows older than a day are deleted by
-- the batches themselves.
CREATE TABLE suppression_starts (
	mailbox text NOT NULL,
	at      timestamptz NOT NULL,
	started integer NOT NULL CHECK (started > 0)
);

CREATE INDEX suppression_starts_mailbox_at_idx ON suppression_starts (mailbox, at);

-- The audit also records releases and discards of held suppressions.
ALTER TABLE suppression_audit DROP CONSTRAINT suppression_audit_action_check;
ALTER TABLE suppression_audit ADD CONSTRAINT suppression_audit_action_check
	CHECK (action IN ('add', 'lift', 'release', 'discard'));

-- daily_bounce_authenticity counts bounce events per UTC day, authenticity
-- and verdict: how many bounces were signed, and what they decided.
CREATE VIEW daily_bounce_authenticity AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
       e.authenticity,
       e.verdict,
       count(*) AS bounces,
       count(DISTINCT lower(e.recipient)) AS addresses
FROM bounce_events AS e
GROUP BY 1, 2, 3;
