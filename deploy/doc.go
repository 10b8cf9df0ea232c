// Package deploy owns the laptop deployment: the base image every image
// builds from (base/build.sh: Debian bookworm minbase by debootstrap), the
// Dockerfiles in this directory (one image for every Go role, one for the
// two Java images, Kafka and the Flink job, one for Jupyter), Kafka's start
// script (kafka/), and the checks that hold docker-compose.yml, at the
// repository root, to the memory budget, the security rules (loopback-only
// ports) and the commands, ports and environment that `just dev` runs.
// These checks need no Docker engine: they read the file with the Compose
// specification's own loader. The stack itself runs for real in
// e2e/compose_test.go (just test-compose-up).
package deploy
