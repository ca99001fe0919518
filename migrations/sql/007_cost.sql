-- Accounting and cost: every run records its embedding requests and
-- tokens beside its chat calls (llm_calls) and tokens (tokens_in,
-- tokens_out), and what they cost at the price table's list prices, in US
-- dollars: NULL when a model it used has no price (unknown, not free).
-- 'budget' is a pass that stopped cleanly at RELATOR_MAX_TOKENS or
-- RELATOR_MAX_COST, leaving the rest pending.
ALTER TABLE runs
    ADD COLUMN embedding_requests int NOT NULL DEFAULT 0,
    ADD COLUMN embedding_tokens   bigint NOT NULL DEFAULT 0,
    ADD COLUMN cost_usd           numeric(14, 6);
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('running', 'done', 'partial', 'failed', 'aborted', 'budget'));
