-- 008: current_suppressions shows the authenticity of each suppression's
-- evidence (verified, invalid or unsigned; '' for one added by hand), as
-- its last column: the view is a documented interface, and a column added
-- at the end leaves every query of it working.
CREATE OR REPLACE VIEW current_suppressions AS
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
       s.updated_at,
       s.evidence_authenticity
FROM suppressions AS s
WHERE s.lifted_at IS NULL
  AND (s.expires_at IS NULL OR s.expires_at > now());
