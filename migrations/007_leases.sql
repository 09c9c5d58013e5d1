-- Leases: which replica works which mailbox (issue 15). PostgreSQL is the
-- only coordination point, and correctness no longer depends on a session
-- staying open: a replica holds a mailbox while its lease row names it and
-- has not expired, renews its leases by heartbeat, and every batch's
-- transaction checks (check_mailbox_lease) the lease it was fetched under.

-- replicas has one row per running replica, renewed by its heartbeat, with
-- the mailboxes it watches. The replicas whose heartbeat is recent share
-- each mailbox's work among those of them that watch it.
CREATE TABLE replicas (
	name         text PRIMARY KEY CHECK (name <> ''),
	mailboxes    text[] NOT NULL DEFAULT '{}',
	started_at   timestamptz NOT NULL,
	heartbeat_at timestamptz NOT NULL
);

-- mailbox_leases has one row per mailbox ever leased. owner is '' while the
-- lease is free. generation goes up by one on every take; it is the fencing
-- token a batch carries, so a replica that was frozen, cut off or timed out
-- can never write after another took the mailbox over. Times are the
-- database's clock, so the replicas' clocks do not matter.
CREATE TABLE mailbox_leases (
	mailbox    text PRIMARY KEY,
	owner      text NOT NULL DEFAULT '',
	generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0),
	expires_at timestamptz NOT NULL,
	taken_at   timestamptz
);

-- check_mailbox_lease raises SQLSTATE BD001 unless owner holds the lease of
-- mailbox at generation and it has not expired. It locks the lease row
-- (FOR SHARE) until the end of the transaction, so a take-over waits for
-- the batch that checked to commit or roll back: the batch is ordered
-- before the take-over, never beside it.
CREATE FUNCTION check_mailbox_lease(p_mailbox text, p_owner text, p_generation bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM mailbox_leases
	WHERE mailbox = p_mailbox AND owner = p_owner AND generation = p_generation AND expires_at > clock_timestamp()
	FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lease of mailbox % (generation %) is no longer held by replica %', p_mailbox, p_generation, p_owner
			USING ERRCODE = 'BD001';
	END IF;
END
$$;

-- The replica that recorded each message ('' before this migration, and for
-- writes made without a replica name).
ALTER TABLE processed_messages ADD COLUMN replica text NOT NULL DEFAULT '';
