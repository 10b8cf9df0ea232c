// Package deploy owns the laptop deployment: the Dockerfiles in this
// directory (one image for every Go role, one for the Flink job, one for
// Jupyter) and the checks that hold docker-compose.yml, at the repository
// root, to the memory budget, the security rules (loopback-only ports) and
// the commands, ports and environment that `just dev` runs. No Docker
// engine is needed: the checks read the file with the Compose
// specification's own loader.
package deploy
