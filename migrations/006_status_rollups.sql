-- 006: what the status page reads, kept small enough to answer in
-- milliseconds with millions of events.
--
-- bounce_daily and message_daily are roll-ups of bounce_events and
-- processed_messages per UTC day. Statement-level triggers with transition
-- tables keep them: one INSERT ... ON CONFLICT per written batch (rows taken
-- in key order, so concurrent writers lock them in the same order and cannot
-- deadlock), and one UPDATE per pruning DELETE. Reading 30 days then touches
-- a few thousand rows instead of every event.

-- bounce_daily counts bounce events per UTC day, reason, verdict and
-- recipient domain.
CREATE TABLE bounce_daily (
	day              date NOT NULL,
	reason           reason_id NOT NULL,
	verdict          text NOT NULL,
	recipient_domain text NOT NULL,
	bounces          bigint NOT NULL,
	PRIMARY KEY (day, reason, verdict, recipient_domain)
) WITH (fillfactor = 80);

CREATE INDEX bounce_daily_domain_idx ON bounce_daily (recipient_domain, day);

-- message_daily counts the messages of the ledger per mailbox, UTC day and
-- outcome, with the last time one was processed.
CREATE TABLE message_daily (
	mailbox        text NOT NULL,
	day            date NOT NULL,
	outcome        text NOT NULL,
	messages       bigint NOT NULL,
	last_processed timestamptz NOT NULL,
	PRIMARY KEY (mailbox, day, outcome)
) WITH (fillfactor = 80);

CREATE FUNCTION bounce_daily_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bounce_daily AS d (day, reason, verdict, recipient_domain, bounces)
	SELECT (occurred_at AT TIME ZONE 'UTC')::date, reason, verdict, recipient_domain, count(*)
	FROM new_events GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (day, reason, verdict, recipient_domain) DO UPDATE SET bounces = d.bounces + excluded.bounces;
	RETURN NULL;
END
$$;

CREATE FUNCTION bounce_daily_remove() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE bounce_daily AS d SET bounces = d.bounces - o.n
	FROM (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, reason, verdict, recipient_domain, count(*) AS n
	      FROM old_events GROUP BY 1, 2, 3, 4) AS o
	WHERE (d.day, d.reason, d.verdict, d.recipient_domain) = (o.day, o.reason, o.verdict, o.recipient_domain);
	DELETE FROM bounce_daily AS d
	USING (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day, reason, verdict, recipient_domain FROM old_events) AS o
	WHERE (d.day, d.reason, d.verdict, d.recipient_domain) = (o.day, o.reason, o.verdict, o.recipient_domain)
	  AND d.bounces <= 0;
	RETURN NULL;
END
$$;

CREATE TRIGGER bounce_events_daily_add AFTER INSERT ON bounce_events
	REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION bounce_daily_add();
CREATE TRIGGER bounce_events_daily_remove AFTER DELETE ON bounce_events
	REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION bounce_daily_remove();

CREATE FUNCTION message_daily_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO message_daily AS d (mailbox, day, outcome, messages, last_processed)
	SELECT mailbox, (processed_at AT TIME ZONE 'UTC')::date, outcome, count(*), max(processed_at)
	FROM new_messages GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
	ON CONFLICT (mailbox, day, outcome) DO UPDATE SET
		messages = d.messages + excluded.messages,
		last_processed = greatest(d.last_processed, excluded.last_processed);
	RETURN NULL;
END
$$;

CREATE FUNCTION message_daily_remove() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE message_daily AS d SET messages = d.messages - o.n
	FROM (SELECT mailbox, (processed_at AT TIME ZONE 'UTC')::date AS day, outcome, count(*) AS n
	      FROM old_messages GROUP BY 1, 2, 3) AS o
	WHERE (d.mailbox, d.day, d.outcome) = (o.mailbox, o.day, o.outcome);
	DELETE FROM message_daily AS d
	USING (SELECT DISTINCT mailbox, (processed_at AT TIME ZONE 'UTC')::date AS day, outcome FROM old_messages) AS o
	WHERE (d.mailbox, d.day, d.outcome) = (o.mailbox, o.day, o.outcome)
	  AND d.messages <= 0;
	RETURN NULL;
END
$$;

CREATE TRIGGER processed_messages_daily_add AFTER INSERT ON processed_messages
	REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION message_daily_add();
CREATE TRIGGER processed_messages_daily_remove AFTER DELETE ON processed_messages
	REFERENCING OLD TABLE AS old_messages FOR EACH STATEMENT EXECUTE FUNCTION message_daily_remove();

-- What is there already.
INSERT INTO bounce_daily (day, reason, verdict, recipient_domain, bounces)
SELECT (occurred_at AT TIME ZONE 'UTC')::date, reason, verdict, recipient_domain, count(*)
FROM bounce_events GROUP BY 1, 2, 3, 4;

INSERT INTO message_daily (mailbox, day, outcome, messages, last_processed)
SELECT mailbox, (processed_at AT TIME ZONE 'UTC')::date, outcome, count(*), max(processed_at)
FROM processed_messages GROUP BY 1, 2, 3;

-- Sender-side incidents: the status page counts the last 7 days from
-- reputation_daily and the last 24 hours exactly from the events, through
-- this partial index of the sender-side ones, which holds every column that
-- count reads (an index-only scan; events are never updated, so vacuum
-- keeps them all-visible).
CREATE INDEX bounce_events_sender_idx ON bounce_events (occurred_at)
	INCLUDE (recipient_domain, reporting_mta, reason) WHERE scope = 'sender';

-- The status page searches the suppression list by domain and by the
-- beginning of an address.
CREATE INDEX suppressions_domain_idx ON suppressions (lower(split_part(address, '@', -1)), lower(address));
CREATE INDEX suppressions_address_prefix_idx ON suppressions (lower(address) text_pattern_ops);
