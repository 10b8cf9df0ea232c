package testsupport

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// CatalogEnv names the catalog the lake tests run on: unset or "sqlite" is a
// SQLite file in the test's data directory (the default); "postgres" is a
// throwaway PostgreSQL cluster this process starts (initdb in a temp
// directory, Debian's binaries); a postgres:// URI is an existing server on
// which each test gets its own database (its user needs CREATEDB).
const CatalogEnv = "FINLAKE_TEST_CATALOG"

// CatalogURI is the --catalog-uri of a test's lake: "" (SQLite beside the
// data) by default, or a database of its own on PostgreSQL when
// $FINLAKE_TEST_CATALOG says so. The database is dropped when the test ends.
func CatalogURI(t testing.TB) string {
	t.Helper()
	mode := os.Getenv(CatalogEnv)
	switch {
	case mode == "" || mode == "sqlite":
		return ""
	case mode == "postgres":
		return sharedPG.database(t)
	case strings.HasPrefix(mode, "postgres://") || strings.HasPrefix(mode, "postgresql://"):
		return (&pgServer{admin: mode}).database(t)
	}
	t.Fatalf("%s=%q: want sqlite, postgres (a cluster the tests start) or a postgres:// URI", CatalogEnv, mode)
	return ""
}

// LakeArgs are lakectl's global flags for a lake at dataDir whose catalog is
// catalogURI ("" for the default SQLite file).
func LakeArgs(dataDir, catalogURI string) []string {
	args := []string{"--data", dataDir}
	if catalogURI != "" {
		args = append(args, "--catalog-uri", catalogURI)
	}
	return args
}

// pgServer is a PostgreSQL server tests create databases on.
type pgServer struct {
	once   sync.Once
	err    error
	admin  string // URI of the maintenance database, as a superuser or CREATEDB role
	own    bool   // started here (start) rather than named by a URI
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
}

// pgSeq numbers the databases of this process, unique even for equal test names.
var pgSeq atomic.Int64

var sharedPG = pgServer{own: true}

// StopSharedPostgres stops the cluster CatalogURI started, if any (Main calls it).
func StopSharedPostgres() {
	if sharedPG.cmd != nil && sharedPG.cmd.Process != nil {
		// SIGINT is PostgreSQL's fast shutdown: clients are cut, no checkpoint wait.
		_ = sharedPG.cmd.Process.Signal(syscall.SIGINT)
		<-sharedPG.exited
		os.RemoveAll(sharedPG.dir)
	}
}

func (s *pgServer) database(t testing.TB) string {
	t.Helper()
	if s.own {
		s.once.Do(func() { s.err = s.start() })
		if s.err != nil {
			t.Fatalf("start a PostgreSQL cluster for %s=postgres: %v", CatalogEnv, s.err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		t.Fatalf("connect to PostgreSQL %s: %v", s.admin, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("finlake_%d_%d_%s", os.Getpid(), pgSeq.Add(1),
		strings.ToLower(nonIdent(t.Name())))
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[:63]
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.admin)
	if err != nil {
		t.Fatalf("PostgreSQL URI %q: %v", s.admin, err)
	}
	u.Path = "/" + name
	return u.String()
}

func nonIdent(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// PostgresBin finds a PostgreSQL server binary (initdb, postgres): on PATH,
// else in Debian's /usr/lib/postgresql/<version>/bin, newest version first.
func PostgresBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql; ./finlake does)", name)
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

// start runs initdb and postgres in a temp directory on a free loopback
// port, trust authentication, superuser "finlake". PostgreSQL refuses to run
// as root, so as root it runs as the "postgres" user Debian's package makes.
// The server dies with this process (Pdeathsig), so a killed test binary
// leaves no cluster behind.
func (s *pgServer) start() error {
	initdb, err := PostgresBin("initdb")
	if err != nil {
		return err
	}
	postgres, err := PostgresBin("postgres")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "finlake-pg-")
	if err != nil {
		return err
	}
	s.dir = dir
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, PostgreSQL needs another user and there is no \"postgres\" user (Debian's postgresql package makes it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "finlake", "-A", "trust", "-E", "UTF8", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return err
	}
	s.cmd = exec.Command(postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	s.admin = fmt.Sprintf("postgres://finlake@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.admin)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("postgres exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not accepting connections within 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
