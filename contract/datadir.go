package contract

import "path/filepath"

// DefaultDataDir is the --data default: every component's state under one
// directory beside the repository.
const DefaultDataDir = "./data"

// DataDir is the layout of the --data directory, the one place that names
// what lives where. Each entry belongs to one component, which owns what is
// inside it (the stack its lock and state files, the broker its log dirs).
type DataDir struct {
	Root string // DefaultDataDir when empty
}

func (d DataDir) path(elem ...string) string {
	root := d.Root
	if root == "" {
		root = DefaultDataDir
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// Catalog is the SQLite catalog file (lake), unless --catalog-uri names another.
func (d DataDir) Catalog() string { return d.path("catalog.db") }

// Warehouse is the Iceberg table data (lake), unless --warehouse names another.
func (d DataDir) Warehouse() string { return d.path("warehouse") }

// ShareKey is the lake's pseudonym key (lakectl serve): 32 random bytes in
// hex, mode 0600, created at the first share query. Whoever holds it can
// reverse every pseudonym; it is never inside the warehouse.
func (d DataDir) ShareKey() string { return d.path("secrets", "share-pseudonym.key") }

// Logs holds one log file per process of the local stack.
func (d DataDir) Logs() string { return d.path("logs") }

// Stack holds the local stack supervisor's lock, pid and state files.
func (d DataDir) Stack() string { return d.path("stack") }

// Kafka is the local broker's directory (lakectl kafka run).
func (d DataDir) Kafka() string { return d.path("kafka") }

// FlinkCheckpoints is where the Flink job of the local stack checkpoints.
func (d DataDir) FlinkCheckpoints() string { return d.path("flink", "checkpoints") }
