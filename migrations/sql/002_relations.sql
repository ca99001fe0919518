-- Runs, and the relations they write for review.

-- One row per relator run/backfill/eval process: what it used and did.
CREATE TABLE runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command        text NOT NULL,
    embedder       text NOT NULL,
    classifier     text NOT NULL,
    prompt_version text NOT NULL,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    embedded       int NOT NULL DEFAULT 0,
    analysed       int NOT NULL DEFAULT 0,
    failed         int NOT NULL DEFAULT 0,
    relations      int NOT NULL DEFAULT 0,
    llm_calls      int NOT NULL DEFAULT 0,
    tokens_in      bigint NOT NULL DEFAULT 0,
    tokens_out     bigint NOT NULL DEFAULT 0,
    invalid        int NOT NULL DEFAULT 0,   -- model items dropped as invalid
    error          text
);

-- A relation says how a prior event relates to a new event. Rows are
-- append-only apart from the review columns (status, reviewed_*).
CREATE TABLE relations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    new_event_id     bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    prior_event_id   bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    type             text NOT NULL,   -- analyzer.Taxonomy(); validated before writing
    confidence       real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    rationale        text NOT NULL CHECK (btrim(rationale) <> ''),  -- exactly as written
    candidate_number int NOT NULL CHECK (candidate_number > 0),     -- its "Event N" in the prompt
    similarity       real,            -- retrieval cosine similarity
    model            text NOT NULL,   -- the classifier; offline ones start with "offline-"
    prompt_version   text NOT NULL,
    run_id           bigint REFERENCES runs (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewed_by      text,
    reviewed_at      timestamptz,
    review_note      text,
    CHECK (new_event_id <> prior_event_id),
    UNIQUE (new_event_id, prior_event_id, model, prompt_version)
);

CREATE INDEX relations_prior_idx ON relations (prior_event_id);
CREATE INDEX relations_pending_idx ON relations (created_at) WHERE status = 'pending';

-- What each event's analysis cost: model calls (1, or 2 with the repair
-- retry), their token usage, and the items dropped as invalid.
ALTER TABLE event_analyses
    ADD COLUMN llm_calls  int NOT NULL DEFAULT 0,
    ADD COLUMN tokens_in  int NOT NULL DEFAULT 0,
    ADD COLUMN tokens_out int NOT NULL DEFAULT 0,
    ADD COLUMN invalid    int NOT NULL DEFAULT 0;
