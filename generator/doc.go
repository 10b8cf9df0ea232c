// Package generator owns finlake's synthetic transaction source: the accounts
// and merchants it invents, the amount and time-of-day models, the status
// lifecycle of each transaction, the injected fraud scenarios and malformed
// records with their ground-truth labels, and the sinks and rate control that
// deliver the stream to raw-transactions (or a file) without losing or
// duplicating a record.
//
// Determinism: everything a Generator emits is a function of its Config (seed,
// start instant, rates, probabilities) alone; wall-clock time enters only in
// live mode, where event time is the time of generation.
package generator
