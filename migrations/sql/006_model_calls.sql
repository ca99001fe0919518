-- The model call log (package internal/calllog): one row per chat HTTP call
-- of the openai classifier, the first one and the repair call alike,
-- written in a transaction of its own as soon as the call returns, before
-- the analysis writes its relations. It shows reviewers exactly what the
-- model said, and makes spending exactly-once: an analysis interrupted
-- after the answer and before its write finds the answer here on its next
-- attempt and does not pay for it again.
--
-- An answer is reused only for the same analysis key (event, content hash,
-- model, prompt version) and the same request_hash: the sha256 of the
-- request body as sent, which covers the prompt, hence the candidates,
-- and the sampling settings and schema. Rows are kept until pruned
-- (docs/operating.md, "The model call log").
CREATE TABLE model_calls (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_hash     bytea NOT NULL,   -- events.content_hash the prompt was built from
    model          text NOT NULL,
    prompt_version text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('first', 'repair')),
    request_hash   bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    response_id    text,             -- the provider's id of the completion
    choices        int NOT NULL DEFAULT 0,  -- 0: a reply without choices, or none (error)
    response       text,             -- the first choice's content exactly as received
    refusal        text,
    finish_reason  text,
    tokens_in      int NOT NULL DEFAULT 0,
    tokens_out     int NOT NULL DEFAULT 0,
    latency_ms     double precision NOT NULL CHECK (latency_ms >= 0),  -- the call as the classifier waited for it, the client's retries included
    error          text,             -- the call failed (after the client's retries): no answer
    run_id         bigint REFERENCES runs (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (error IS NULL OR (response IS NULL AND choices = 0))
);
-- Lookup by analysis key and request (reuse), and by event: its prefix.
CREATE INDEX model_calls_analysis_idx ON model_calls (event_id, model, prompt_version, event_hash, request_hash);
-- Pruning by age.
CREATE INDEX model_calls_created_idx ON model_calls (created_at);

-- Chat calls an analysis (and a run) did not make because it reused a
-- stored answer.
ALTER TABLE event_analyses ADD COLUMN reused_calls int NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN reused_calls int NOT NULL DEFAULT 0;
