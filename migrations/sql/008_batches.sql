-- The OpenAI Batch API: analyses sent as one file of requests, answered
-- within a 24-hour window at half price.
--
-- A batch is recorded before it is submitted ('preparing', no provider id),
-- with its items and their analyses marked 'batched', in one transaction per
-- claimed chunk; the provider's ids follow once the file is uploaded and the
-- batch created. A 'preparing' batch whose run is no longer running was cut
-- off by a crash: collection looks for it at the provider by its metadata
-- (relator_batch = id) and adopts it, or gives its items back.
CREATE TABLE batches (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_batch_id text UNIQUE,         -- NULL until created at the provider
    input_file_id     text,
    output_file_id    text,
    error_file_id     text,
    -- The provider's batch statuses, 'preparing' before submission and
    -- 'abandoned' for a batch that was never submitted.
    status            text NOT NULL DEFAULT 'preparing'
                      CHECK (status IN ('preparing', 'validating', 'in_progress', 'finalizing', 'completed',
                                        'failed', 'expired', 'cancelling', 'cancelled', 'abandoned')),
    model             text NOT NULL,       -- the classifier model every request names
    prompt_version    text NOT NULL,
    endpoint          text NOT NULL DEFAULT '/v1/chat/completions',
    requests          int NOT NULL DEFAULT 0,
    bytes             bigint NOT NULL DEFAULT 0,   -- of the JSONL input file
    -- The provider's request counts.
    completed         int NOT NULL DEFAULT 0,
    failed            int NOT NULL DEFAULT 0,
    -- What collection did: analyses written, items given back, items
    -- dropped as invalid, relations written, and the usage of the batch's
    -- own replies (billed at the Batch API's price; a repair call made
    -- synchronously is counted in event_analyses and runs, not here).
    analysed          int NOT NULL DEFAULT 0,
    returned          int NOT NULL DEFAULT 0,
    invalid           int NOT NULL DEFAULT 0,
    relations         int NOT NULL DEFAULT 0,
    tokens_in         bigint NOT NULL DEFAULT 0,
    tokens_out        bigint NOT NULL DEFAULT 0,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    submitted_at      timestamptz,
    expires_at        timestamptz,         -- the provider's end of the completion window
    completed_at      timestamptz,         -- when the provider ended it, whatever the outcome
    collected_at      timestamptz,         -- results written and the rest given back
    run_id            bigint REFERENCES runs (id) ON DELETE SET NULL,
    collected_run_id  bigint REFERENCES runs (id) ON DELETE SET NULL
);
CREATE INDEX batches_uncollected_idx ON batches (id) WHERE collected_at IS NULL;

-- One request of a batch: the analysis (event, model, prompt version) it
-- answers, named by custom_id in the files, the claim it holds and the
-- candidates it was rendered with, best first, so that its reply is judged
-- and written exactly as a synchronous reply would be.
CREATE TABLE batch_items (
    batch_id     bigint NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    custom_id    text NOT NULL,
    event_id     bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_hash   bytea NOT NULL,
    claim_token  uuid NOT NULL,
    candidates   bigint[] NOT NULL,
    similarities float8[] NOT NULL,
    shown        int NOT NULL,            -- of the candidates, how many the fitted prompt showed
    PRIMARY KEY (batch_id, custom_id)
);

-- 'batched': the analysis waits for its batch. No pass claims it until its
-- lease (the batch's window and a margin) runs out; collection writes it
-- or gives it back. batch_id stays on a finished analysis: it was priced
-- at the Batch API's rate.
ALTER TABLE event_analyses DROP CONSTRAINT event_analyses_status_check;
ALTER TABLE event_analyses ADD CONSTRAINT event_analyses_status_check
    CHECK (status IN ('pending', 'running', 'batched', 'done', 'failed', 'dead'));
ALTER TABLE event_analyses ADD COLUMN batch_id bigint REFERENCES batches (id) ON DELETE SET NULL;
CREATE INDEX event_analyses_batch_idx ON event_analyses (batch_id) WHERE batch_id IS NOT NULL;
