package kafkalocal

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/finlake/finlake/contract"
)

// StartT starts a broker of its own for one test, on t.TempDir() and free
// ports, with the contract's topics created, and stops it in t.Cleanup. Use
// it for tests that Kill, Restart or otherwise disturb the broker; others can
// share one broker per test binary with SharedT, which saves the JVM start
// (several seconds) per test. The broker log is in t.TempDir()/logs. Both run
// with QuickStart: fast to serve, not for throughput measurements.
func StartT(t testing.TB) *Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := Start(ctx, Options{Dir: t.TempDir(), QuickStart: true})
	if err != nil {
		t.Fatalf("start kafka broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("stop kafka broker: %v", err)
		}
	})
	if err := contract.Ensure(ctx, []string{b.Bootstrap()}); err != nil {
		t.Fatalf("create contract topics: %v\n%s", err, b.LogTail(4000))
	}
	return b
}

var shared struct {
	once sync.Once
	b    *Broker
	err  error
}

// SharedT returns the test binary's one shared broker, starting it on first
// use (contract topics created). It is not stopped per test: tests sharing
// it must not Kill or Restart it, and should use their own topics or group
// ids (e.g. named after t.Name()) where they would collide. Stop it from
// TestMain with StopShared; on Linux it also dies with the test binary.
func SharedT(t testing.TB) *Broker {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "kafkalocal-shared-")
		if err != nil {
			shared.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		b, err := Start(ctx, Options{Dir: dir, QuickStart: true})
		if err != nil {
			os.RemoveAll(dir)
			shared.err = err
			return
		}
		b.tempDir = true // StopShared removes the dir
		if err := contract.Ensure(ctx, []string{b.Bootstrap()}); err != nil {
			_ = b.Stop()
			shared.err = err
			return
		}
		shared.b = b
	})
	if shared.err != nil {
		t.Fatalf("start shared kafka broker: %v", shared.err)
	}
	return shared.b
}

// StopShared stops the shared broker if SharedT started one. Call it from
// TestMain after m.Run:
//
//	func TestMain(m *testing.M) { code := m.Run(); kafkalocal.StopShared(); os.Exit(code) }
func StopShared() {
	if shared.b != nil {
		_ = shared.b.Stop()
	}
}
