-- Operations: collation-free order, claim tokens, dead letters, what each
-- analysis saw, and runs that report they are alive.

-- "Prior" order must not depend on the server's locale: ids compare
-- bytewise everywhere (COLLATE "C"), as the tests' reference order does.
-- The trigger reads source_id, so it is dropped and created again around
-- the change of type.
DROP TRIGGER events_order_key_changed ON events;
ALTER TABLE events ALTER COLUMN source_id TYPE text COLLATE "C";
ALTER TABLE embeddings ALTER COLUMN source_id TYPE text COLLATE "C";
CREATE TRIGGER events_order_key_changed
    AFTER UPDATE OF occurred_at, source_id ON events
    FOR EACH ROW
    WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at OR OLD.source_id IS DISTINCT FROM NEW.source_id)
    EXECUTE FUNCTION embeddings_follow_event();

-- One row per relator process that did a pass: the heartbeat tells a live
-- run from one whose process died, which the next process closes as
-- 'aborted'. 'partial' is a pass that finished with failed events.
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('running', 'done', 'partial', 'failed', 'aborted'));
ALTER TABLE runs
    ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN host         text,
    ADD COLUMN pid          int,
    ADD COLUMN params       jsonb NOT NULL DEFAULT '{}',  -- e.g. a backfill's range
    ADD COLUMN refreshed    int NOT NULL DEFAULT 0,       -- events whose vector was kept
    ADD COLUMN dead         int NOT NULL DEFAULT 0,       -- analyses dead-lettered by this run
    ADD COLUMN lost         int NOT NULL DEFAULT 0;       -- claims another process took over
CREATE INDEX runs_started_idx ON runs (started_at DESC);
CREATE INDEX runs_running_idx ON runs (heartbeat_at) WHERE status = 'running';

-- A claim names itself: finish, fail, release and lease renewal match the
-- token a claim was given, so a process never touches an analysis that
-- another process has taken over since. 'dead' is an analysis that failed
-- max-attempts times: it waits for `relator requeue` or new content.
ALTER TABLE event_analyses DROP CONSTRAINT event_analyses_status_check;
ALTER TABLE event_analyses ADD CONSTRAINT event_analyses_status_check
    CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead'));
ALTER TABLE event_analyses
    ADD COLUMN claim_token uuid,
    -- The last claim took the analysis over from a process whose lease
    -- ran out (it died, or stalled).
    ADD COLUMN taken_over  boolean NOT NULL DEFAULT false,
    ADD COLUMN run_id      bigint REFERENCES runs (id) ON DELETE SET NULL,
    -- The prior candidates the analysis was given, best first (events.id):
    -- what it saw, so that a later check can search again and compare.
    ADD COLUMN candidates  bigint[];
CREATE INDEX event_analyses_state_idx ON event_analyses (model, prompt_version, status);

-- `relator schedule`: the ticks a pass was started for, one row per
-- (spec, fire time) across every replica, so that a tick is run once even
-- when the replicas' clocks or wake-ups differ by more than a short pass.
CREATE TABLE schedule_ticks (
    spec       text NOT NULL,
    tick       timestamptz NOT NULL,   -- the scheduled fire time
    host       text,
    pid        int,
    started_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (spec, tick)
);
