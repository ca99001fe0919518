-- Review in the database: a relation's states and their transitions are
-- enforced by triggers for every client (relator, psql, DBeaver, …), every
-- change of a relation's status or content is appended to relation_audit,
-- and the role relator_reviewer may change only what review may change.
-- Self-contained: it depends on migrations 001–003 only.

-- What a relation keeps beside the review columns of 002:
--   event_hash      the new event's content hash its analysis saw; a later
--                   analysis of other content supersedes pending relations
--                   of another hash.
--   model_type,     the model's own type and rationale, kept when a reviewer
--   model_rationale corrects them (status 'edited'); NULL otherwise.
ALTER TABLE relations
    ADD COLUMN event_hash      bytea,
    ADD COLUMN model_type      text,
    ADD COLUMN model_rationale text;

UPDATE relations r SET event_hash = a.event_hash
  FROM event_analyses a
 WHERE a.event_id = r.new_event_id AND a.model = r.model AND a.prompt_version = r.prompt_version
   AND a.status = 'done';

-- pending → approved | rejected | edited, by reviewers; pending → superseded,
-- by relator only. The triggers below enforce the transitions.
ALTER TABLE relations DROP CONSTRAINT relations_status_check;
ALTER TABLE relations ADD CONSTRAINT relations_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'edited', 'superseded'));
-- The taxonomy (analyzer/taxonomy.go, docs/relations.md): the analyzer
-- validates before writing; this holds a reviewer's edit to it as well.
ALTER TABLE relations ADD CONSTRAINT relations_type_in_taxonomy
    CHECK (type IN ('causes', 'continuation', 'escalation', 'de_escalation', 'reversal', 'response', 'parallel', 'duplicate'));
ALTER TABLE relations ADD CONSTRAINT relations_edited_keeps_original
    CHECK (CASE WHEN status = 'edited' THEN model_type IS NOT NULL AND model_rationale IS NOT NULL
                ELSE model_type IS NULL AND model_rationale IS NULL END);

-- A superseded relation no longer holds its pair's place: the analysis of
-- the changed event may write the same pair again under the same model and
-- prompt version. Every other relation is unique per pair, model and prompt
-- version, as before.
ALTER TABLE relations DROP CONSTRAINT IF EXISTS relations_new_event_id_prior_event_id_model_prompt_version_key;
CREATE UNIQUE INDEX relations_pair_key ON relations (new_event_id, prior_event_id, model, prompt_version)
    WHERE status <> 'superseded';
CREATE INDEX relations_new_idx ON relations (new_event_id);

-- The team's review rules that are settings rather than states: one row,
-- changed by the table owner (`UPDATE review_policy SET reject_needs_note = false`).
CREATE TABLE review_policy (
    one               boolean PRIMARY KEY DEFAULT true CHECK (one),
    -- a rejection must say why (review_note), for the next reviewer and for
    -- the authors of the next prompt version
    reject_needs_note boolean NOT NULL DEFAULT true
);
INSERT INTO review_policy DEFAULT VALUES;

-- The audit trail: one row per change of a relation's status, type,
-- rationale or note, and per deletion, written by the database itself.
-- No foreign key: the trail outlives a deleted relation. Append-only for
-- everyone (triggers below).
CREATE TABLE relation_audit (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relation_id   bigint NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    reviewer      text NOT NULL,   -- relator.reviewer, else the database role; 'relator' for the job
    db_user       text NOT NULL,   -- the login (session_user) that made the change
    from_status   text NOT NULL,
    to_status     text NOT NULL,   -- a status, or 'deleted'
    note          text,
    old_type      text,            -- type and rationale before and after, where they changed
    new_type      text,
    old_rationale text,
    new_rationale text
);
CREATE INDEX relation_audit_relation_idx ON relation_audit (relation_id, id);

-- The decisions made before this migration, as the trail's first entries.
INSERT INTO relation_audit (relation_id, at, reviewer, db_user, from_status, to_status, note)
SELECT id, coalesce(reviewed_at, created_at), coalesce(reviewed_by, 'unknown'), 'migration 004', 'pending', status, review_note
  FROM relations WHERE status <> 'pending'
 ORDER BY coalesce(reviewed_at, created_at), id;

-- relation_is_final raises the error for any change to relation r, which
-- is decided or superseded, to status "to".
CREATE FUNCTION relation_is_final(r relations, "to" text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r.status = 'superseded' THEN
        RAISE EXCEPTION 'relation % is superseded: its event changed and was analysed again; decide the newer relation', r.id
            USING ERRCODE = 'RV001';
    END IF;
    RAISE EXCEPTION 'relation % is already % (by % at %): a decision is final', r.id, r.status,
        coalesce(r.reviewed_by, 'unknown'), coalesce(to_char(r.reviewed_at, 'YYYY-MM-DD HH24:MI:SS TZ'), 'an unknown time')
        USING ERRCODE = 'RV001',
              HINT = CASE WHEN "to" = 'pending' THEN 'a decided relation never goes back to pending'
                          ELSE 'relation_audit has its history' END;
END $$;

-- relations_review enforces, for every role (the owner too, short of
-- disabling the trigger):
--   * an INSERT is a pending, unreviewed relation;
--   * what the model was given and said (events, candidate, confidence,
--     similarity, model, prompt version, hash, time) never changes; run_id
--     may only be cleared (ON DELETE SET NULL of runs);
--   * reviewed_by, reviewed_at, model_type and model_rationale are set here;
--   * pending → approved or rejected (type and rationale unchanged; a
--     rejection needs a note unless review_policy says otherwise), pending →
--     edited (type and/or rationale changed; the model's kept), pending →
--     superseded only by relator's job: `SET LOCAL relator.job = on` in a
--     transaction of a role that owns relations (or is a member of the owner);
--   * a decided or superseded relation is final: no further change.
-- Errors carry SQLSTATE RV001 (decided already: a conflict), RV002 (a change
-- review does not allow) or RV003 (a rejection without a note).
CREATE FUNCTION relations_review() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(btrim(current_setting('relator.reviewer', true)), ''), current_user::text);
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' OR NEW.reviewed_by IS NOT NULL OR NEW.reviewed_at IS NOT NULL
           OR NEW.review_note IS NOT NULL OR NEW.model_type IS NOT NULL OR NEW.model_rationale IS NOT NULL THEN
            RAISE EXCEPTION 'a relation is inserted as pending and unreviewed'
                USING ERRCODE = 'RV002', HINT = 'decide it with an UPDATE once it is written';
        END IF;
        RETURN NEW;
    END IF;

    IF (NEW.id, NEW.new_event_id, NEW.prior_event_id, NEW.confidence, NEW.candidate_number, NEW.similarity,
        NEW.model, NEW.prompt_version, NEW.created_at, NEW.event_hash)
       IS DISTINCT FROM
       (OLD.id, OLD.new_event_id, OLD.prior_event_id, OLD.confidence, OLD.candidate_number, OLD.similarity,
        OLD.model, OLD.prompt_version, OLD.created_at, OLD.event_hash)
       OR (NEW.run_id IS DISTINCT FROM OLD.run_id AND NEW.run_id IS NOT NULL) THEN
        RAISE EXCEPTION 'relation %: its events, candidate, confidence, model and prompt version never change', OLD.id
            USING ERRCODE = 'RV002', HINT = 'review changes status, and with status = ''edited'' the type and rationale';
    END IF;
    IF (NEW.reviewed_by, NEW.reviewed_at, NEW.model_type, NEW.model_rationale)
       IS DISTINCT FROM (OLD.reviewed_by, OLD.reviewed_at, OLD.model_type, OLD.model_rationale) THEN
        RAISE EXCEPTION 'relation %: reviewed_by, reviewed_at, model_type and model_rationale are set by the database', OLD.id
            USING ERRCODE = 'RV002', HINT = 'SET relator.reviewer = ''your name'' names the reviewer; otherwise it is the database role';
    END IF;

    IF NEW.status = OLD.status THEN
        IF (NEW.type, NEW.rationale, NEW.review_note) IS NOT DISTINCT FROM (OLD.type, OLD.rationale, OLD.review_note) THEN
            RETURN NEW;  -- nothing of review changes (run_id cleared, or a no-op)
        END IF;
        IF OLD.status = 'pending' THEN
            RAISE EXCEPTION 'relation %: type, rationale and review_note change only with a decision', OLD.id
                USING ERRCODE = 'RV002',
                      HINT = 'set status = ''edited'' with the corrected type or rationale, or ''approved''/''rejected'' with a review_note';
        END IF;
    END IF;

    IF OLD.status <> 'pending' THEN
        PERFORM relation_is_final(OLD, NEW.status);
    END IF;

    CASE NEW.status
    WHEN 'approved', 'rejected' THEN
        IF (NEW.type, NEW.rationale) IS DISTINCT FROM (OLD.type, OLD.rationale) THEN
            RAISE EXCEPTION 'relation %: changing the type or rationale is an edit', OLD.id
                USING ERRCODE = 'RV002', HINT = 'set status = ''edited''';
        END IF;
        IF NEW.status = 'rejected' AND coalesce(btrim(NEW.review_note), '') = ''
           AND coalesce((SELECT reject_needs_note FROM review_policy), true) THEN
            RAISE EXCEPTION 'relation %: a rejection needs a review_note saying why', OLD.id
                USING ERRCODE = 'RV003', HINT = 'the table owner can turn this off: UPDATE review_policy SET reject_needs_note = false';
        END IF;
    WHEN 'edited' THEN
        IF (NEW.type, NEW.rationale) IS NOT DISTINCT FROM (OLD.type, OLD.rationale) THEN
            RAISE EXCEPTION 'relation %: an edit changes the type or the rationale', OLD.id
                USING ERRCODE = 'RV002', HINT = 'to accept them as they are, set status = ''approved''';
        END IF;
        NEW.model_type := OLD.type;
        NEW.model_rationale := OLD.rationale;
    WHEN 'superseded' THEN
        IF current_setting('relator.job', true) IS DISTINCT FROM 'on'
           OR NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
            RAISE EXCEPTION 'relation %: superseded is set by relator only, when the event changed and was analysed again', OLD.id
                USING ERRCODE = 'RV002';
        END IF;
        IF (NEW.type, NEW.rationale, NEW.review_note) IS DISTINCT FROM (OLD.type, OLD.rationale, OLD.review_note) THEN
            RAISE EXCEPTION 'relation %: superseding changes the status only', OLD.id USING ERRCODE = 'RV002';
        END IF;
        RETURN NEW;
    WHEN 'pending' THEN
        RETURN NEW;  -- not reached: OLD is pending and the status changed
    ELSE
        RAISE EXCEPTION 'relation %: unknown status %', OLD.id, NEW.status
            USING ERRCODE = 'RV002', HINT = 'want approved, rejected or edited';
    END CASE;
    NEW.review_note := nullif(btrim(NEW.review_note), '');
    NEW.reviewed_by := who;
    NEW.reviewed_at := now();
    RETURN NEW;
END $$;

CREATE TRIGGER relations_review BEFORE INSERT OR UPDATE ON relations
    FOR EACH ROW EXECUTE FUNCTION relations_review();

-- Assigning a status to a decided relation is a conflict even when the
-- value is the same: two reviewers approving one relation at once, the
-- second is told it was decided meanwhile. (relations_review sees only the
-- values, so an UPDATE that sets status to what it is would pass it as a
-- no-op; UPDATE OF fires when the column is assigned at all, and this
-- trigger's name sorts before relations_review, so it fires first.)
CREATE FUNCTION relations_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM relation_is_final(OLD, NEW.status);
    RETURN NEW;
END $$;
CREATE TRIGGER relations_decided BEFORE UPDATE OF status ON relations
    FOR EACH ROW WHEN (OLD.status <> 'pending') EXECUTE FUNCTION relations_decided();

-- relations_audit appends to relation_audit. SECURITY DEFINER: reviewers
-- have no INSERT on relation_audit, so no one forges an entry.
CREATE FUNCTION relations_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    who text := coalesce(nullif(btrim(current_setting('relator.reviewer', true)), ''), session_user::text);
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO relation_audit (relation_id, reviewer, db_user, from_status, to_status)
        VALUES (OLD.id, who, session_user, OLD.status, 'deleted');
        RETURN OLD;
    END IF;
    INSERT INTO relation_audit (relation_id, reviewer, db_user, from_status, to_status, note,
                                old_type, new_type, old_rationale, new_rationale)
    VALUES (NEW.id,
            CASE WHEN NEW.status = 'superseded' THEN 'relator' ELSE coalesce(NEW.reviewed_by, who) END,
            session_user, OLD.status, NEW.status,
            CASE WHEN NEW.review_note IS DISTINCT FROM OLD.review_note THEN NEW.review_note END,
            CASE WHEN NEW.type IS DISTINCT FROM OLD.type THEN OLD.type END,
            CASE WHEN NEW.type IS DISTINCT FROM OLD.type THEN NEW.type END,
            CASE WHEN NEW.rationale IS DISTINCT FROM OLD.rationale THEN OLD.rationale END,
            CASE WHEN NEW.rationale IS DISTINCT FROM OLD.rationale THEN NEW.rationale END);
    RETURN NULL;
END $$;

CREATE TRIGGER relations_audit_change AFTER UPDATE ON relations
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.type IS DISTINCT FROM NEW.type
          OR OLD.rationale IS DISTINCT FROM NEW.rationale OR OLD.review_note IS DISTINCT FROM NEW.review_note)
    EXECUTE FUNCTION relations_audit();
CREATE TRIGGER relations_audit_delete AFTER DELETE ON relations
    FOR EACH ROW EXECUTE FUNCTION relations_audit();

-- TRUNCATE fires no row triggers, so it would remove relations unaudited.
CREATE FUNCTION relations_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE relations would bypass the audit trail'
        USING ERRCODE = 'RV002', HINT = 'DELETE FROM relations is audited';
END $$;
CREATE TRIGGER relations_no_truncate BEFORE TRUNCATE ON relations
    FOR EACH STATEMENT EXECUTE FUNCTION relations_no_truncate();

CREATE FUNCTION relation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'relation_audit is append-only: its rows are never updated or deleted'
        USING ERRCODE = 'RV002';
END $$;
CREATE TRIGGER relation_audit_append_only BEFORE UPDATE OR DELETE ON relation_audit
    FOR EACH ROW EXECUTE FUNCTION relation_audit_append_only();
CREATE TRIGGER relation_audit_no_truncate BEFORE TRUNCATE ON relation_audit
    FOR EACH STATEMENT EXECUTE FUNCTION relation_audit_append_only();

-- relation_headline shortens a headline to at most 60 characters at a
-- word boundary, as relator show does.
CREATE FUNCTION relation_headline(headline text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(headline) <= 60 THEN headline
                ELSE coalesce(nullif(substring(left(headline, 59) FROM '^(.*\S)\s'), ''), left(headline, 59)) || '…' END
$$;

-- rationale_resolved puts beside a rationale's first "Event N" (the
-- relation's own number) and first "the New Event" the headline of the
-- event each means: "Event 3 [Hungary closes its border …]".
CREATE FUNCTION rationale_resolved(rationale text, number int, prior_headline text, new_headline text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(
               regexp_replace(rationale, '\mEvent ' || number || '\M',
                              '\& [' || replace(relation_headline(prior_headline), '\', '\\') || ']'),
               '\mthe New Event\M', '\& [' || replace(relation_headline(new_headline), '\', '\\') || ']', 'i')
$$;

-- The reviewers' queue: pending relations with both events, highest
-- confidence first (ORDER BY confidence DESC in a query keeps that order).
CREATE VIEW review_queue AS
SELECT r.id, r.confidence, r.type,
       rationale_resolved(r.rationale, r.candidate_number, coalesce(p.title, p.summary), coalesce(n.title, n.summary)) AS rationale,
       p.source_id AS prior_event, p.occurred_at AS prior_date, p.title AS prior_title, p.summary AS prior_summary,
       n.source_id AS new_event, n.occurred_at AS new_date, n.title AS new_title, n.summary AS new_summary,
       r.model, r.prompt_version, r.created_at, r.rationale AS model_text
  FROM relations r
  JOIN events n ON n.id = r.new_event_id
  JOIN events p ON p.id = r.prior_event_id
 WHERE r.status = 'pending'
 ORDER BY r.confidence DESC, r.id;

-- The reviewed graph: approved and edited relations, with the reviewer's
-- text where edited (model_type and model_rationale keep the model's).
CREATE VIEW approved_relations AS
SELECT r.id, r.status, r.type, r.rationale, r.confidence,
       p.source_id AS prior_event, p.occurred_at AS prior_date, coalesce(p.title, p.summary) AS prior_headline,
       n.source_id AS new_event, n.occurred_at AS new_date, coalesce(n.title, n.summary) AS new_headline,
       r.reviewed_by, r.reviewed_at, r.review_note, r.model_type, r.model_rationale,
       r.model, r.prompt_version, r.created_at
  FROM relations r
  JOIN events n ON n.id = r.new_event_id
  JOIN events p ON p.id = r.prior_event_id
 WHERE r.status IN ('approved', 'edited');

-- relator_reviewer: a NOLOGIN role to grant to people. Roles are
-- cluster-wide, so it is created once (whichever database migrates first,
-- also when several do at once); its privileges are per database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relator_reviewer') THEN
        BEGIN
            CREATE ROLE relator_reviewer NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it meanwhile
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'migration 004 creates the role relator_reviewer, which role % may not create', current_user
                    USING HINT = 'as a role with CREATEROLE: CREATE ROLE relator_reviewer NOLOGIN; then run relator migrate again';
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO relator_reviewer', current_schema());
    -- relator's commands check the schema version first (migrations.VersionTable),
    -- so that a reviewer can run `relator review` with a login of their own.
    IF to_regclass('relator_schema_version') IS NOT NULL THEN
        GRANT SELECT ON relator_schema_version TO relator_reviewer;
    END IF;
END $$;
GRANT SELECT ON events, relations, relation_audit, review_policy, review_queue, approved_relations TO relator_reviewer;
GRANT UPDATE (status, type, rationale, review_note) ON relations TO relator_reviewer;
