package kafkalocal

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

// Versions of what EnsureJars fetches. Kafka 4.4.0 is the newest 4.x line
// known to resolve from Maven Central here; bumping it changes the cache dir,
// so old and new jar sets never mix.
const (
	KafkaVersion = "4.4.0"
	log4jVersion = "2.25.3"
	slf4jVersion = "2.0.17"
)

//go:embed pom.xml.tmpl
var pomTemplate string

var pomTmpl = template.Must(template.New("pom").Parse(pomTemplate))

// completeMarker is written last, so its presence means the libs dir is whole.
const completeMarker = ".complete"

// DefaultCacheDir is where EnsureJars keeps the jars when no dir is given:
// $FINLAKE_CACHE, else the user cache dir (~/.cache/finlake on Linux,
// ~/Library/Caches/finlake on macOS).
func DefaultCacheDir() string {
	if d := os.Getenv("FINLAKE_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "finlake")
	}
	return filepath.Join(os.TempDir(), "finlake-cache")
}

// LibsDir is the directory holding the jars for cacheDir ("" = default).
func LibsDir(cacheDir string) string {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	return filepath.Join(cacheDir, "kafka-"+KafkaVersion, "libs")
}

// EnsureJars makes sure the Kafka broker, its tools and a log4j2 backend are
// in the cache and returns the Java classpath listing them. The first call
// runs Maven (a minute or less with a warm ~/.m2, more on a fresh machine);
// later calls only list the directory. Concurrent callers, also in other
// processes, serialise on a lock file, and the jars are copied to a temp
// dir that is renamed into place, so nobody ever sees half a jar set.
func EnsureJars(ctx context.Context, cacheDir string) (string, error) {
	libs := LibsDir(cacheDir)
	if cp, err := classpathOf(libs); err == nil {
		return cp, nil
	}
	root := filepath.Dir(libs)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("kafkalocal: create jar cache %s: %w", root, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, ".lock"))
	if err != nil {
		return "", fmt.Errorf("kafkalocal: lock jar cache %s: %w", root, err)
	}
	defer unlock()
	// Another process may have finished the fetch while we waited.
	if cp, err := classpathOf(libs); err == nil {
		return cp, nil
	}
	if err := fetchJars(ctx, root, libs); err != nil {
		return "", err
	}
	return classpathOf(libs)
}

func fetchJars(ctx context.Context, root, libs string) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return errors.New("kafkalocal: Maven (mvn) is not on PATH; it is needed once to fetch the Kafka jars " +
			"from Maven Central. Install it (Debian/Ubuntu: apt-get install maven; macOS: brew install maven) " +
			"or copy a filled cache dir (" + libs + ") from another machine")
	}
	if _, err := javaBinary(); err != nil {
		return err
	}
	var pom bytes.Buffer
	if err := pomTmpl.Execute(&pom, map[string]string{
		"Kafka": KafkaVersion, "Log4j": log4jVersion, "Slf4j": slf4jVersion,
	}); err != nil {
		return fmt.Errorf("kafkalocal: render pom: %w", err)
	}
	pomPath := filepath.Join(root, "pom.xml")
	if err := os.WriteFile(pomPath, pom.Bytes(), 0o644); err != nil {
		return fmt.Errorf("kafkalocal: write %s: %w", pomPath, err)
	}
	tmp, err := os.MkdirTemp(root, "libs.tmp-")
	if err == nil {
		err = os.Chmod(tmp, 0o755) // MkdirTemp makes it private; the jars are not secret
	}
	if err != nil {
		return fmt.Errorf("kafkalocal: temp dir for jars: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-f", pomPath,
		"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kafkalocal: mvn could not fetch Kafka %s jars (needs Maven Central or a filled ~/.m2): %w\n%s",
			KafkaVersion, err, tail(out.Bytes(), 4000))
	}
	jars, _ := filepath.Glob(filepath.Join(tmp, "*.jar"))
	if len(jars) == 0 {
		return fmt.Errorf("kafkalocal: mvn copied no jars into %s\n%s", tmp, tail(out.Bytes(), 4000))
	}
	var names []string
	for _, j := range jars {
		names = append(names, filepath.Base(j))
	}
	sort.Strings(names)
	if err := os.WriteFile(filepath.Join(tmp, completeMarker),
		[]byte(fmt.Sprintf("kafka %s, %d jars, fetched in %s\n", KafkaVersion, len(names), time.Since(start).Round(time.Millisecond))), 0o644); err != nil {
		return fmt.Errorf("kafkalocal: mark jars complete: %w", err)
	}
	// A leftover incomplete libs dir (a crash before this rename existed) is
	// replaced; we hold the lock, so nobody else is using it.
	if err := os.RemoveAll(libs); err != nil {
		return fmt.Errorf("kafkalocal: remove stale %s: %w", libs, err)
	}
	if err := os.Rename(tmp, libs); err != nil {
		return fmt.Errorf("kafkalocal: move jars into place: %w", err)
	}
	return nil
}

// classpathOf lists the jars of a complete libs dir, sorted for a stable
// command line.
func classpathOf(libs string) (string, error) {
	if _, err := os.Stat(filepath.Join(libs, completeMarker)); err != nil {
		return "", err
	}
	jars, err := filepath.Glob(filepath.Join(libs, "*.jar"))
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("kafkalocal: no jars in %s", libs)
	}
	sort.Strings(jars)
	return strings.Join(jars, string(os.PathListSeparator)), nil
}

// javaBinary finds java: $JAVA_HOME/bin/java first (what Maven also uses),
// then PATH.
func javaBinary() (string, error) {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		p := filepath.Join(h, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("kafkalocal: java is not on PATH and JAVA_HOME is unset; Kafka 4 needs Java 17 or newer " +
			"(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; macOS: brew install openjdk@17)")
	}
	return p, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
