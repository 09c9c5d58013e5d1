-- 001: the tables of bounced.
--
-- Conventions: times are timestamptz; identifiers from the parse contract
-- (reason, scope, verdict, kind, action) are stored as text and constrained
-- by CHECK (reasons by the domain reason_id);
-- addresses keep the local part as sent and a lower-cased domain, and every
-- address column has an index on lower(address) for case-insensitive lookup.

-- reason_id is a reason identifier of DESIGN.md. Every reason column of the
-- schema has this type, so an identifier the parser does not know cannot be
-- stored. (A CHECK on a domain costs nothing per row where a foreign key to
-- the reasons table costs a lookup: bounce_events takes thousands of rows a
-- second.) Adding a reason is a migration: ALTER DOMAIN and INSERT INTO
-- reasons together.
CREATE DOMAIN reason_id AS text CHECK (VALUE IN (
	'user_unknown', 'mailbox_disabled', 'host_unknown', 'bad_recipient_syntax', 'mailbox_full',
	'complaint', 'auth_failure', 'blocklisted', 'spam_content', 'policy_rejected',
	'bad_sender_address', 'relay_denied', 'message_too_large', 'virus', 'rate_limited',
	'greylisted', 'server_error', 'network_error', 'expired', 'delayed',
	'auto_reply', 'delivered', 'unknown'));

-- reasons is the reason table of DESIGN.md: each reason with its scope and
-- permanence. Reason texts and reports join to it.
CREATE TABLE reasons (
	reason    reason_id PRIMARY KEY,
	scope     text NOT NULL CHECK (scope IN ('recipient', 'sender', 'transient', 'none')),
	permanent boolean NOT NULL
);

INSERT INTO reasons (reason, scope, permanent) VALUES
	('user_unknown',         'recipient', true),
	('mailbox_disabled',     'recipient', true),
	('host_unknown',         'recipient', true),
	('bad_recipient_syntax', 'recipient', true),
	('mailbox_full',         'recipient', false),
	('complaint',            'recipient', true),
	('auth_failure',         'sender',    true),
	('blocklisted',          'sender',    true),
	('spam_content',         'sender',    true),
	('policy_rejected',      'sender',    true),
	('bad_sender_address',   'sender',    true),
	('relay_denied',         'sender',    true),
	('message_too_large',    'sender',    true),
	('virus',                'sender',    true),
	('rate_limited',         'sender',    false),
	('greylisted',           'transient', false),
	('server_error',         'transient', false),
	('network_error',        'transient', false),
	('expired',              'transient', false),
	('delayed',              'transient', false),
	('auto_reply',           'none',      false),
	('delivered',            'none',      false),
	('unknown',              'none',      false);

-- reason_texts holds, per reason and language (en, de), what the reason
-- means, why it happens and how to fix it, so that reports can show them.
-- `bounced migrate` loads them from the binary (store.SyncReasonTexts).
CREATE TABLE reason_texts (
	reason     reason_id NOT NULL REFERENCES reasons,
	lang       text NOT NULL CHECK (lang ~ '^[a-z]{2}$'),
	meaning    text NOT NULL,
	why        text NOT NULL,
	fix        text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (reason, lang)
);

-- mailboxes holds the checkpoint of each polled mailbox: the highest UID
-- whose batch has committed, valid for one UIDVALIDITY.
CREATE TABLE mailboxes (
	mailbox     text PRIMARY KEY,
	uidvalidity bigint NOT NULL CHECK (uidvalidity BETWEEN 0 AND 4294967295),
	last_uid    bigint NOT NULL CHECK (last_uid BETWEEN 0 AND 4294967295),
	updated_at  timestamptz NOT NULL
);

-- processed_messages is the ledger of every fetched message. It is unique on
-- (mailbox, uidvalidity, uid) and on the SHA-256 of the raw message, so a
-- message fetched again, or the same bytes under another UID, is recognised
-- and skipped.
CREATE TABLE processed_messages (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	mailbox      text NOT NULL,
	uidvalidity  bigint NOT NULL CHECK (uidvalidity BETWEEN 0 AND 4294967295),
	uid          bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
	message_id   text NOT NULL DEFAULT '',
	content_hash bytea NOT NULL CHECK (octet_length(content_hash) = 32),
	size         bigint NOT NULL DEFAULT 0,
	received_at  timestamptz,
	kind         text CHECK (kind IN ('dsn', 'non_standard', 'arf', 'auto_reply', 'unrecognized')),
	outcome      text NOT NULL CHECK (outcome IN ('processed', 'unrecognized', 'failed')),
	error        text NOT NULL DEFAULT '',
	processed_at timestamptz NOT NULL,
	CONSTRAINT processed_messages_uid_key UNIQUE (mailbox, uidvalidity, uid),
	CONSTRAINT processed_messages_content_key UNIQUE (content_hash)
);

-- bounce_events holds one row per recipient result of the parse contract.
-- occurred_at is when the bounce arrived (IMAP INTERNALDATE, else the time it
-- was recorded); policy windows and reports use it.
CREATE TABLE bounce_events (
	id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_ref         bigint NOT NULL,  -- processed_messages.id (no foreign key: WriteBatch inserts both together)
	occurred_at         timestamptz NOT NULL,
	recorded_at         timestamptz NOT NULL,
	kind                text NOT NULL CHECK (kind IN ('dsn', 'non_standard', 'arf', 'auto_reply', 'unrecognized')),
	recipient           text NOT NULL,  -- '' when no recipient could be found
	recipient_domain    text NOT NULL,  -- lower-cased; '' when unknown
	status              text NOT NULL,
	status_inferred     boolean NOT NULL,
	smtp_code           integer CHECK (smtp_code BETWEEN 0 AND 999),
	action              text NOT NULL CHECK (action IN ('', 'failed', 'delayed', 'delivered', 'relayed', 'expanded')),
	reason              reason_id NOT NULL,
	scope               text NOT NULL CHECK (scope IN ('recipient', 'sender', 'transient', 'none')),
	permanent           boolean NOT NULL,
	verdict             text NOT NULL CHECK (verdict IN ('suppress', 'soft', 'alert', 'ignore')),
	diagnostic          text NOT NULL,
	remote_mta          text NOT NULL,
	reporting_mta       text NOT NULL,
	feedback_type       text NOT NULL,
	original_message_id text NOT NULL,
	original_from       text NOT NULL,
	sending_domain      text NOT NULL,  -- domain of original_from, lower-cased; '' when unknown
	original_headers    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX bounce_events_message_ref_idx ON bounce_events (message_ref);
-- Events arrive roughly in occurred_at order: a BRIN index serves the
-- reports' time ranges at a fraction of a B-tree's cost per insert.
CREATE INDEX bounce_events_occurred_at_idx ON bounce_events USING brin (occurred_at);
CREATE INDEX bounce_events_recipient_idx ON bounce_events (lower(recipient), occurred_at);

-- suppressions holds one row per address ever suppressed. A row is in force
-- while lifted_at IS NULL and expires_at is NULL (permanent) or in the
-- future: expired rows stop counting without being deleted (see the view
-- current_suppressions). active_since is when the current suppression began;
-- bounce_count counts the bounces recorded against it: those that started it
-- (for soft bounces, all those counted) and those seen while it was in force.
CREATE TABLE suppressions (
	id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	address             text NOT NULL CHECK (address LIKE '%_@_%'),
	reason              reason_id NOT NULL,
	scope               text NOT NULL CHECK (scope IN ('recipient', 'sender', 'transient', 'none')),
	first_seen          timestamptz NOT NULL,
	last_seen           timestamptz NOT NULL,
	bounce_count        integer NOT NULL CHECK (bounce_count >= 0),
	last_write_count    integer NOT NULL DEFAULT 0,  -- bounces the latest write added to bounce_count
	expires_at          timestamptz,  -- NULL: permanent
	evidence_message_id text NOT NULL DEFAULT '',
	evidence_status     text NOT NULL DEFAULT '',
	evidence_diagnostic text NOT NULL DEFAULT '',
	manual              boolean NOT NULL DEFAULT false,
	active_since        timestamptz NOT NULL,
	lifted_at           timestamptz,  -- set when lifted by hand; see suppression_audit
	updated_at          timestamptz NOT NULL
) WITH (fillfactor = 80);

CREATE UNIQUE INDEX suppressions_address_key ON suppressions (lower(address));
-- For "suppressed since T" (campaign tools catching up): suppressions that
-- started since T. Not on updated_at, which every renewal changes: this way
-- a renewal is a HOT update that touches no index.
CREATE INDEX suppressions_active_since_idx ON suppressions (active_since, id);

-- suppression_audit records every manual change to the suppression list:
-- who added or lifted which address, why and when.
CREATE TABLE suppression_audit (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	address text NOT NULL,
	action  text NOT NULL CHECK (action IN ('add', 'lift')),
	actor   text NOT NULL CHECK (actor <> ''),
	note    text NOT NULL CHECK (note <> ''),
	reason  reason_id,  -- the suppression's reason at the time
	at      timestamptz NOT NULL
);

CREATE INDEX suppression_audit_address_idx ON suppression_audit (lower(address), at);
CREATE INDEX suppression_audit_at_idx ON suppression_audit (at);

-- soft_bounces holds the soft-bounce state of each address: the times of
-- its soft bounces within the policy window (in no particular order). Bounces at or
-- before counted_since (a manual lift) are never counted again.
CREATE TABLE soft_bounces (
	address       text NOT NULL,
	bounce_times  timestamptz[] NOT NULL,
	last_reason   reason_id,
	last_seen     timestamptz,
	counted_since timestamptz,
	updated_at    timestamptz NOT NULL
) WITH (fillfactor = 80);

CREATE UNIQUE INDEX soft_bounces_address_key ON soft_bounces (lower(address));

-- reputation_daily counts the sender-side incidents (verdict alert: the
-- receiver rejected the sending, not the address) per UTC day, recipient
-- domain, sending domain (of the original From), reporting MTA and reason.
CREATE TABLE reputation_daily (
	day              date NOT NULL,
	recipient_domain text NOT NULL,
	sending_domain   text NOT NULL,
	reporting_mta    text NOT NULL,
	reason           reason_id NOT NULL,
	incidents        bigint NOT NULL CHECK (incidents >= 0),
	first_seen       timestamptz NOT NULL,
	last_seen        timestamptz NOT NULL,
	PRIMARY KEY (day, recipient_domain, sending_domain, reporting_mta, reason)
) WITH (fillfactor = 80);

CREATE INDEX reputation_daily_reason_idx ON reputation_daily (reason, day);

-- soft_window keeps the bounce times that still count: later than since
-- (NULL: no bound) and within win of the newest of those. The order of the
-- result is not defined. (PL/pgSQL: three times faster here than SQL.)
CREATE FUNCTION soft_window(times timestamptz[], since timestamptz, win interval)
RETURNS timestamptz[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	newest timestamptz := '-infinity';
	t      timestamptz;
	kept   timestamptz[] := '{}';
BEGIN
	IF times IS NULL THEN
		RETURN kept;
	END IF;
	FOREACH t IN ARRAY times LOOP
		IF (since IS NULL OR t > since) AND t > newest THEN
			newest := t;
		END IF;
	END LOOP;
	FOREACH t IN ARRAY times LOOP
		IF (since IS NULL OR t > since) AND t > newest - win THEN
			kept := kept || t;
		END IF;
	END LOOP;
	RETURN kept;
END
$$;
