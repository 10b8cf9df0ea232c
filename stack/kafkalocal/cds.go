package kafkalocal

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Class data sharing: a broker JVM spends most of its start loading and
// verifying some ten thousand classes. The first broker that stops
// gracefully dumps the classes it loaded into a dynamic CDS archive next to
// the jars; later brokers map that archive and serve in about half the time.
// The JVM checks the archive against its own build and the classpath and
// silently ignores one that does not match, so a stale archive costs only the
// speed-up. FINLAKE_KAFKA_CDS=0 turns this off.

// cdsArgs returns the JVM flags for this start and, when this JVM is to
// write the archive, the temp file it dumps to.
func (b *Broker) cdsArgs() (args []string, dumpTo string) {
	if os.Getenv("FINLAKE_KAFKA_CDS") == "0" {
		return nil, ""
	}
	archive := b.cdsArchive()
	// Warnings about classes CDS cannot store would fill the broker output.
	quiet := "-Xlog:cds*=off,cds+dynamic*=off"
	if st, err := os.Stat(archive); err == nil && st.Size() > 0 {
		return []string{quiet, "-XX:SharedArchiveFile=" + archive}, ""
	}
	dumpTo = fmt.Sprintf("%s.%d-%d.tmp", archive, os.Getpid(), time.Now().UnixNano())
	return []string{quiet, "-XX:ArchiveClassesAtExit=" + dumpTo}, dumpTo
}

// cdsArchive is per JVM build, since an archive only fits the JVM that wrote
// it: keyed on libjvm (the launcher binary survives JDK updates unchanged),
// so an updated JDK writes a new archive rather than ignoring a stale one.
func (b *Broker) cdsArchive() string {
	java := b.java
	if p, err := filepath.EvalSymlinks(java); err == nil {
		java = p
	}
	key := java
	home := filepath.Dir(filepath.Dir(java))
	for _, f := range []string{"lib/server/libjvm.so", "lib/server/libjvm.dylib", java} {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(home, f)
		}
		if st, err := os.Stat(p); err == nil {
			key = fmt.Sprintf("%s|%d|%d", p, st.Size(), st.ModTime().UnixNano())
			break
		}
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(filepath.Dir(LibsDir(b.opts.CacheDir)), fmt.Sprintf("broker-%x.jsa", sum[:6]))
}

// keepCDSArchive moves a dumped archive into place after the JVM exited on
// its own (SIGTERM included: Java exits through its shutdown path). A
// SIGKILLed JVM may have left a partial file, which is dropped.
func (b *Broker) keepCDSArchive(cmd *exec.Cmd, dumpTo string) {
	if dumpTo == "" {
		return
	}
	defer os.Remove(dumpTo)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return
	}
	if st, err := os.Stat(dumpTo); err != nil || st.Size() == 0 {
		return
	}
	_ = os.Rename(dumpTo, b.cdsArchive())
}

// WarmUp makes sure the CDS archive exists, by starting and gracefully
// stopping a throwaway broker if it does not, so that the brokers started
// afterwards (e.g. by a test suite running packages in parallel) all start
// fast. It returns the archive's path ("" when CDS is off).
func WarmUp(ctx context.Context, cacheDir string) (string, error) {
	if os.Getenv("FINLAKE_KAFKA_CDS") == "0" {
		return "", nil
	}
	java, err := javaBinary()
	if err != nil {
		return "", err
	}
	probe := &Broker{java: java, opts: Options{CacheDir: cacheDir}}
	archive := probe.cdsArchive()
	if st, err := os.Stat(archive); err == nil && st.Size() > 0 {
		return archive, nil
	}
	b, err := Start(ctx, Options{CacheDir: cacheDir, QuickStart: true})
	if err != nil {
		return "", err
	}
	if err := b.Stop(); err != nil {
		return "", err
	}
	if _, err := os.Stat(archive); err != nil {
		return "", fmt.Errorf("kafkalocal: the warm-up broker wrote no CDS archive %s: %w", archive, err)
	}
	return archive, nil
}
