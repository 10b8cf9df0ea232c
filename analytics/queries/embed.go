// Package queries embeds the saved analyses (*.sql) so that `lakectl run`
// works from any directory; lakectl prefers ./analytics/queries on disk when
// it exists, so edits show up without a rebuild.
package queries

import "embed"

// FS holds every saved analysis.
//
//go:embed *.sql
var FS embed.FS
