-- 003: the change feed of the suppression list, and a cursor per webhook
-- into it.
--
-- A webhook must see every suppression that starts (and every lift), in
-- order, even when several transactions commit at once and the writers'
-- clocks disagree. A cursor on (active_since, id) cannot promise that: a
-- transaction that took its time before committing, or a replica whose clock
-- is behind, adds a row below a cursor that has already passed it. So each
-- change is stamped with the ID of the transaction that made it
-- (changed_xid), and a reader takes only rows from transactions older than
-- every transaction still running (pg_snapshot_xmin of its snapshot): all
-- those have ended, so nothing can ever appear below the cursor again.

-- changed_xid is the transaction that last started or lifted the suppression:
-- set on INSERT by the default, and by the trigger below when active_since or
-- lifted_at changes. A renewal (neither changes) leaves it, and stays a HOT
-- update. Existing rows get the ID of the transaction that applies this file.
ALTER TABLE suppressions ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX suppressions_changed_xid_idx ON suppressions (changed_xid, id);

CREATE FUNCTION suppressions_stamp_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	NEW.changed_xid := pg_current_xact_id();
	RETURN NEW;
END
$$;

CREATE TRIGGER suppressions_stamp_change
	BEFORE UPDATE ON suppressions
	FOR EACH ROW
	WHEN (NEW.active_since IS DISTINCT FROM OLD.active_since OR NEW.lifted_at IS DISTINCT FROM OLD.lifted_at)
	EXECUTE FUNCTION suppressions_stamp_change();

-- webhook_cursors holds, per configured webhook, the last change of the
-- feed (ordered by changed_xid, id) that its receiver acknowledged. It only
-- moves forward.
CREATE TABLE webhook_cursors (
	name       text PRIMARY KEY,
	last_xid   xid8 NOT NULL,
	last_id    bigint NOT NULL,
	delivered  bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0),  -- events acknowledged so far
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
