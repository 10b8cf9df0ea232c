//go:build !unix

package kafkalocal

import "context"

// lockFile is a no-op where flock does not exist; the temp-dir-and-rename in
// EnsureJars still keeps a racing fetch from exposing half a jar set.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
