-- Events, their vectors, and the per-event state of the analysis.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    text NOT NULL UNIQUE CHECK (source_id <> ''),   -- the JSONL "id"
    occurred_at  timestamptz NOT NULL,
    title        text,
    summary      text,
    content      text,
    sources      jsonb NOT NULL DEFAULT '[]',  -- [{"url": …, "title": …}]
    actors       jsonb NOT NULL DEFAULT '[]',  -- [{"name": …, "response": …}]
    metadata     jsonb NOT NULL DEFAULT '{}',  -- JSONL fields relator does not know
    -- sha256 over what embedding and analysis read (time, title, summary,
    -- content, actors): a new hash means embed and analyse again.
    content_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (title IS NOT NULL OR summary IS NOT NULL)
);

-- "Prior" is (occurred_at, source_id) order (DESIGN.md).
CREATE INDEX events_order_idx ON events (occurred_at, source_id);

CREATE TABLE embeddings (
    event_id     bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    model        text NOT NULL,   -- the vector space; vectors of two models are never compared
    dimensions   int NOT NULL CHECK (dimensions > 0),
    embedding    vector NOT NULL CHECK (vector_dims(embedding) = dimensions),
    text_hash    bytea NOT NULL,  -- sha256 of the text embedded
    event_hash   bytea NOT NULL,  -- events.content_hash when embedded
    -- The event's order key, copied so that the prior-only filter is applied
    -- inside the HNSW index scan rather than after a join. Kept in step by
    -- the trigger below.
    occurred_at  timestamptz NOT NULL,
    source_id    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, model)
);
-- HNSW indexes are created per (model, dimensions) at run time by the
-- embeddings package, since the dimension is configuration. This one serves
-- the pending-work scan and the exact search over few priors.
CREATE INDEX embeddings_prior_idx ON embeddings (model, occurred_at, source_id);

CREATE FUNCTION embeddings_follow_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE embeddings SET occurred_at = NEW.occurred_at, source_id = NEW.source_id
     WHERE event_id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER events_order_key_changed
    AFTER UPDATE OF occurred_at, source_id ON events
    FOR EACH ROW
    WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at OR OLD.source_id IS DISTINCT FROM NEW.source_id)
    EXECUTE FUNCTION embeddings_follow_event();

-- One row per event and analysis key (classifier model + prompt version):
-- the analysis state, in columns of its own so that claiming, leasing and
-- retrying can come later without touching relations.
CREATE TABLE event_analyses (
    event_id       bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    model          text NOT NULL,
    prompt_version text NOT NULL,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'done', 'failed')),
    event_hash     bytea,          -- events.content_hash the analysis saw
    attempts       int NOT NULL DEFAULT 0,
    lease_until    timestamptz,
    last_error     text,
    relations      int,            -- relations written by the last analysis
    analysed_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, model, prompt_version)
);
