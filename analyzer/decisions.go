package analyzer

// What writing an event's relations owes to reviewers and to the event's
// earlier content, as parts of finishSQL, which runs them in the
// transaction that writes the relations and only when the claim is held:
//
//   - the event's pending relations written from other content than this
//     analysis saw are marked superseded (the relations_review trigger allows
//     that only to relator's job, which the transaction says it is with
//     jobSQL, SET LOCAL relator.job = on);
//   - a pair (this event, a prior) that a reviewer rejected, under any model
//     and prompt version, is not written again unless asked ($19,
//     --reask-rejected), so a rejection is not asked again by every new
//     prompt version.
//
// Relations a reviewer decided are never changed: the new ones are written
// beside them, and the unique index keeps one relation per pair, model and
// prompt version besides superseded ones.

// jobSQL marks the transaction as relator's job for the review trigger.
const jobSQL = `SELECT set_config('relator.job', 'on', true)`

// supersedeSQL marks the event's stale pending relations ($1 the event, $5
// the content hash the analysis saw), if the claim ($2–$4) is still held;
// finishAll runs it just before finishSQL.
const supersedeSQL = `
	UPDATE relations SET status = 'superseded'
	 WHERE new_event_id = $1 AND status = 'pending' AND event_hash IS DISTINCT FROM $5
	   AND EXISTS (SELECT FROM event_analyses
	                WHERE event_id = $1 AND model = $2 AND prompt_version = $3 AND claim_token = $4 AND status = 'running')`

// notRejectedSQL keeps a candidate pair (r.p the prior) out unless asked
// ($19) when a reviewer rejected it.
const notRejectedSQL = `($19::bool OR NOT EXISTS (SELECT FROM relations x
		 WHERE x.new_event_id = $1 AND x.prior_event_id = r.p AND x.status = 'rejected'))`
