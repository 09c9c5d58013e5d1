-- 004: one stored form for every address and domain.
--
-- store.NormalizeAddress now puts an internationalised domain in its ASCII
-- (IDNA, punycode) form: "bob@bücher.example" is stored and looked up as
-- "bob@xn--bcher-kva.example", so that the Unicode and the ASCII spelling
-- of one address are one suppression. Rows written before kept the domain
-- in Unicode (lower-cased). This migration rewrites them.
--
-- Where a rewritten address meets a row that already has the new form (the
-- same address was written both ways), the rows are merged, never dropped:
-- a suppression in force stays in force, counts add up, first/last seen
-- span both. Only rows with a non-ASCII domain change.

-- punycode returns the RFC 3492 encoding of one label (without "xn--").
CREATE OR REPLACE FUNCTION pg_temp.punycode(label text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	base  CONSTANT int := 36;
	tmin  CONSTANT int := 1;
	tmax  CONSTANT int := 26;
	cps   int[] := ARRAY(SELECT ascii(ch) FROM regexp_split_to_table(label, '') WITH ORDINALITY AS t(ch, i) ORDER BY i);
	total int := cardinality(cps);
	n     int := 128;
	delta bigint := 0;
	bias  int := 72;
	b     int := 0;
	h     int;
	m     int;
	q     bigint;
	k     int;
	t     int;
	c     int;
	d     bigint;
	res   text := '';
BEGIN
	FOREACH c IN ARRAY cps LOOP
		IF c < 128 THEN
			res := res || chr(c);
			b := b + 1;
		END IF;
	END LOOP;
	h := b;
	IF b > 0 THEN
		res := res || '-';
	END IF;
	WHILE h < total LOOP
		SELECT min(x) INTO m FROM unnest(cps) AS x WHERE x >= n;
		delta := delta + (m - n)::bigint * (h + 1);
		n := m;
		FOREACH c IN ARRAY cps LOOP
			IF c < n THEN
				delta := delta + 1;
			END IF;
			IF c = n THEN
				q := delta;
				k := base;
				LOOP
					t := CASE WHEN k <= bias THEN tmin WHEN k >= bias + tmax THEN tmax ELSE k - bias END;
					EXIT WHEN q < t;
					d := t + (q - t) % (base - t);
					res := res || CASE WHEN d < 26 THEN chr(97 + d::int) ELSE chr(22 + d::int) END;
					q := (q - t) / (base - t);
					k := k + base;
				END LOOP;
				res := res || CASE WHEN q < 26 THEN chr(97 + q::int) ELSE chr(22 + q::int) END;
				-- adapt (RFC 3492 section 6.1)
				IF h = b THEN
					delta := delta / 700;
				ELSE
					delta := delta / 2;
				END IF;
				delta := delta + delta / (h + 1);
				k := 0;
				WHILE delta > ((base - tmin) * tmax) / 2 LOOP
					delta := delta / (base - tmin);
					k := k + base;
				END LOOP;
				bias := k + ((base - tmin + 1) * delta) / (delta + 38);
				delta := 0;
				h := h + 1;
			END IF;
		END LOOP;
		delta := delta + 1;
		n := n + 1;
	END LOOP;
	RETURN res;
END
$$;

-- ascii_domain returns the ASCII form of a domain: each label with a
-- character beyond ASCII in NFC, lower-cased and punycode-encoded.
CREATE OR REPLACE FUNCTION pg_temp.ascii_domain(domain text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	label text;
	res   text[] := '{}';
BEGIN
	IF domain !~ '[^[:ascii:]]' THEN
		RETURN domain;
	END IF;
	FOREACH label IN ARRAY string_to_array(domain, '.') LOOP
		IF label ~ '[^[:ascii:]]' THEN
			label := 'xn--' || pg_temp.punycode(lower(normalize(label, NFC)));
		END IF;
		res := res || lower(label);
	END LOOP;
	RETURN array_to_string(res, '.');
END
$$;

-- ascii_address returns address with its domain (after the last "@") in
-- ASCII form.
CREATE OR REPLACE FUNCTION pg_temp.ascii_address(address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE WHEN address ~ '@[^@]*[^[:ascii:]][^@]*$'
		THEN left(address, length(address) - length(split_part(address, '@', -1)))
			|| pg_temp.ascii_domain(split_part(address, '@', -1))
		ELSE address END
$$;

-- suppressions: one row per lower(address). Per address written both ways,
-- the row that protects most survives (in force, then permanent, then
-- manual, then the latest), with the others folded into it.
CREATE TEMP TABLE migrate_suppressions ON COMMIT DROP AS
WITH changed AS (
	SELECT id, pg_temp.ascii_address(address) AS new_address
	FROM suppressions
	WHERE address ~ '@[^@]*[^[:ascii:]][^@]*$'
), grouped AS (
	SELECT s.*, coalesce(c.new_address, s.address) AS new_address
	FROM suppressions AS s
	LEFT JOIN changed AS c USING (id)
	WHERE lower(coalesce(c.new_address, s.address)) IN (SELECT lower(new_address) FROM changed)
)
SELECT g.id, g.new_address,
	row_number() OVER w = 1 AS survivor,
	min(g.first_seen) OVER k AS first_seen,
	max(g.last_seen) OVER k AS last_seen,
	sum(g.bounce_count) OVER k AS bounce_count
FROM grouped AS g
WINDOW k AS (PARTITION BY lower(g.new_address)),
	w AS (PARTITION BY lower(g.new_address) ORDER BY
		(g.lifted_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > now())) DESC,
		g.lifted_at IS NULL DESC, g.expires_at IS NULL DESC, g.expires_at DESC, g.manual DESC,
		g.updated_at DESC, g.id);

DELETE FROM suppressions AS s USING migrate_suppressions AS m
WHERE s.id = m.id AND NOT m.survivor;

UPDATE suppressions AS s SET address = m.new_address, first_seen = m.first_seen, last_seen = m.last_seen,
	bounce_count = least(m.bounce_count, 2147483647)
FROM migrate_suppressions AS m
WHERE s.id = m.id AND m.survivor;

-- soft_bounces: one row per lower(address); the bounce times of all rows
-- of an address are kept, and the latest manual lift (counted_since) rules.
CREATE TEMP TABLE migrate_soft ON COMMIT DROP AS
WITH changed AS (
	SELECT ctid AS row_id, pg_temp.ascii_address(address) AS new_address
	FROM soft_bounces
	WHERE address ~ '@[^@]*[^[:ascii:]][^@]*$'
), grouped AS (
	SELECT b.ctid AS row_id, b.*, coalesce(c.new_address, b.address) AS new_address
	FROM soft_bounces AS b
	LEFT JOIN changed AS c ON c.row_id = b.ctid
	WHERE lower(coalesce(c.new_address, b.address)) IN (SELECT lower(new_address) FROM changed)
)
SELECT g.row_id, g.new_address,
	row_number() OVER (PARTITION BY lower(g.new_address) ORDER BY g.updated_at DESC) = 1 AS survivor,
	ARRAY(SELECT unnest(o.bounce_times) FROM grouped AS o WHERE lower(o.new_address) = lower(g.new_address)) AS bounce_times,
	max(g.counted_since) OVER k AS counted_since,
	max(g.last_seen) OVER k AS last_seen
FROM grouped AS g
WINDOW k AS (PARTITION BY lower(g.new_address));

DELETE FROM soft_bounces AS b USING migrate_soft AS m
WHERE b.ctid = m.row_id AND NOT m.survivor;

UPDATE soft_bounces AS b SET address = m.new_address, bounce_times = m.bounce_times,
	counted_since = m.counted_since, last_seen = m.last_seen
FROM migrate_soft AS m
WHERE b.ctid = m.row_id AND m.survivor;

-- The audit and the events: no uniqueness, a plain rewrite.
UPDATE suppression_audit SET address = pg_temp.ascii_address(address)
WHERE address ~ '@[^@]*[^[:ascii:]][^@]*$';

UPDATE bounce_events SET recipient = pg_temp.ascii_address(recipient),
	recipient_domain = pg_temp.ascii_domain(recipient_domain),
	sending_domain = pg_temp.ascii_domain(sending_domain)
WHERE recipient_domain ~ '[^[:ascii:]]' OR sending_domain ~ '[^[:ascii:]]';

-- reputation_daily: rows whose key changes are summed into the row of the
-- new key.
WITH moved AS (
	DELETE FROM reputation_daily
	WHERE recipient_domain ~ '[^[:ascii:]]' OR sending_domain ~ '[^[:ascii:]]'
	RETURNING *
)
INSERT INTO reputation_daily AS r (day, recipient_domain, sending_domain, reporting_mta, reason, incidents, first_seen, last_seen)
SELECT day, pg_temp.ascii_domain(recipient_domain), pg_temp.ascii_domain(sending_domain), reporting_mta, reason,
	sum(incidents), min(first_seen), max(last_seen)
FROM moved
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (day, recipient_domain, sending_domain, reporting_mta, reason) DO UPDATE SET
	incidents = r.incidents + excluded.incidents,
	first_seen = least(r.first_seen, excluded.first_seen),
	last_seen = greatest(r.last_seen, excluded.last_seen);

DROP FUNCTION pg_temp.ascii_address(text);
DROP FUNCTION pg_temp.ascii_domain(text);
DROP FUNCTION pg_temp.punycode(text);
