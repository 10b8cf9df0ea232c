// Package testsupport owns the helpers that tests of several packages
// share: the TestMain that stops the shared local broker and PostgreSQL
// cluster, topics and transactional producers on it, the lakectl binary
// under test, and the catalog a lake test runs on (CatalogURI: SQLite, or a
// database of its own on PostgreSQL under FINLAKE_TEST_CATALOG).
//
// It is imported by _test.go files only (TestOnlyTestsImportTestsupport
// checks), so nothing here reaches a shipped binary. It lives in internal/
// rather than beside the broker (stack/kafkalocal) because it is not only
// about Kafka. It imports no finlake package but stack/kafkalocal (and so
// contract), so the in-package tests of every other package can use it
// without an import cycle; and it imports no Arrow, Iceberg or Flight SQL
// code (only pgx, to create the tests' databases), so test binaries that
// only need a broker stay small and quick to link. Helpers over the lake or
// the Flight server stay in the helpers_test.go of the packages that need
// them.
//
// Starting and sharing the broker itself is kafkalocal.StartT and
// kafkalocal.SharedT.
package testsupport
