-- events.content_hash no longer covers the actors' responses: neither the
-- embedded text nor the prompt reads them (only `relator show` does), so a
-- changed response must not cost an embedding request or a model call.
-- The hash is now a sha256 over the time, title, summary, content and the
-- actors' names, as events.Event.ContentHash computes it:
--
--   "relator-content-v2\n" <microseconds since the epoch> "\n"
--   <bytes>:<title> "\n" <bytes>:<summary> "\n" <bytes>:<content> "\n"
--   <number of actors> "\n" then <bytes>:<name> "\n" for each actor.
--
-- Every stored event is rehashed here, and the vectors and analyses that
-- were current under the old hash move to the new one, so that upgrading
-- embeds and analyses nothing again. What was stale stays stale.

CREATE TEMP TABLE rehashed_events ON COMMIT DROP AS
SELECT e.id, e.content_hash AS old_hash, sha256(convert_to(
           'relator-content-v2' || E'\n'
        || (floor(extract(epoch FROM date_trunc('second', e.occurred_at)))::bigint * 1000000
            + extract(microseconds FROM e.occurred_at)::bigint % 1000000) || E'\n'
        || octet_length(convert_to(coalesce(e.title, ''), 'UTF8')) || ':' || coalesce(e.title, '') || E'\n'
        || octet_length(convert_to(coalesce(e.summary, ''), 'UTF8')) || ':' || coalesce(e.summary, '') || E'\n'
        || octet_length(convert_to(coalesce(e.content, ''), 'UTF8')) || ':' || coalesce(e.content, '') || E'\n'
        || jsonb_array_length(e.actors) || E'\n'
        || coalesce((SELECT string_agg(octet_length(convert_to(coalesce(a.actor->>'name', ''), 'UTF8')) || ':'
                                       || coalesce(a.actor->>'name', '') || E'\n', '' ORDER BY a.ord)
                       FROM jsonb_array_elements(e.actors) WITH ORDINALITY AS a (actor, ord)), ''),
       'UTF8')) AS new_hash
  FROM events e;

UPDATE embeddings v SET event_hash = r.new_hash
  FROM rehashed_events r
 WHERE v.event_id = r.id AND v.event_hash = r.old_hash;

UPDATE event_analyses a SET event_hash = r.new_hash
  FROM rehashed_events r
 WHERE a.event_id = r.id AND a.event_hash = r.old_hash;

UPDATE events e SET content_hash = r.new_hash
  FROM rehashed_events r
 WHERE e.id = r.id AND e.content_hash IS DISTINCT FROM r.new_hash;

COMMENT ON COLUMN events.content_hash IS
    'sha256 over what embedding and analysis read: time, title, summary, content, actor names (not responses, sources or metadata)';
