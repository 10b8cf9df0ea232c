// Package e2e owns the end-to-end tests of the whole pipeline as a user runs
// it: `lakectl stack up` on temporary directories and free ports, the
// generator at full speed, the Flink job, ingest and the Flight SQL server,
// checked from the outside (Kafka topics, the Iceberg tables, Flight SQL),
// with faults injected by SIGKILL. The tests carry the build tag e2e and run
// from `just test-e2e`; they need bin/lakectl and the Flink job's jar built.
package e2e
