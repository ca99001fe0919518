// Package progress shows how far a long job such as `relator backfill` has
// got: events done out of the total, the rate, the time left, and the model
// calls and tokens spent so far.
//
// On a terminal it draws a live bar; anywhere else (a log file, a
// Kubernetes pod's output) it writes one plain line every interval instead,
// because a bar redrawn with carriage returns turns into noise in a log:
//
//	progress: 1200/5000 events (24.0%), 85.3 events/s, ETA 44s, 1180 model calls, 1.2M tokens
//
// A Reporter is safe for concurrent use: the workers that finish events call
// Add, and whoever started the job calls Finish once.
package progress
