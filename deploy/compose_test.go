package deploy

import (
	"bufio"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/finlake/finlake/stack"
	"github.com/finlake/finlake/stack/kafkalocal"
	"github.com/finlake/finlake/stack/supervisor"
)

const repoRoot = ".."

// The laptop's budget (issue 8): all memory limits together at most 6 GB.
const memoryBudget = 6 << 30

// wantPorts are the contract's ports (ARCHITECTURE.md, "Ports") per compose
// service: the ones `just dev` listens on, plus Jupyter's.
func wantPorts() map[string][]uint32 {
	p := stack.DefaultPorts()
	u := func(ports ...int) []uint32 {
		out := make([]uint32, len(ports))
		for i, v := range ports {
			out[i] = uint32(v)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	return map[string][]uint32{
		"kafka":     u(p.Kafka),
		"flink":     u(p.Flink),
		"generator": u(p.Generator),
		"ingest":    u(p.Ingest),
		"flight":    u(p.Flight, p.FlightHTTP),
		"jupyter":   u(8888),
	}
}

// oneShot services run to completion during start-up; every other service
// runs until stopped.
var oneShot = map[string]bool{"topics": true}

// lakectlImage is the one image of every Go role.
const lakectlImage = "finlake/lakectl:local"

func loadProject(t *testing.T) *types.Project {
	t.Helper()
	// Not the test machine's environment: the file's own defaults apply, as
	// on a laptop with nothing exported.
	return loadProjectWith(t, []string{})
}

// loadProjectWith loads docker-compose.yml as `just up` does with env
// (KEY=VALUE) exported.
func loadProjectWith(t *testing.T, env []string) *types.Project {
	t.Helper()
	opts, err := composecli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, "docker-compose.yml")},
		composecli.WithWorkingDirectory(repoRoot),
		composecli.WithEnv(env),
		composecli.WithInterpolation(true),
		composecli.WithNormalization(true),
		composecli.WithConsistency(true),
		composecli.WithResolvedPaths(false),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load with the Compose specification's loader: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

func memLimit(s types.ServiceConfig) int64 {
	if s.MemLimit > 0 {
		return int64(s.MemLimit)
	}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		return int64(s.Deploy.Resources.Limits.MemoryBytes)
	}
	return 0
}

func env(s types.ServiceConfig, key string) string {
	if v, ok := s.Environment[key]; ok && v != nil {
		return *v
	}
	return ""
}

// flagValue returns the value following --name (or of --name=value) in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

func TestComposeFileDeclaresThePipelineServices(t *testing.T) {
	p := loadProject(t)
	want := []string{"flight", "flink", "generator", "ingest", "jupyter", "kafka", "rules-watcher", "topics"}
	got := p.ServiceNames()
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("services = %v, want %v", got, want)
	}
}

func TestEveryLongRunningServiceHasAHealthcheckAndRestartsUnlessStopped(t *testing.T) {
	p := loadProject(t)
	for name, s := range p.Services {
		if oneShot[name] {
			if s.Restart != "no" {
				t.Errorf("%s: one-shot service has restart %q; a restart policy would run it again and again, want \"no\"", name, s.Restart)
			}
			continue
		}
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart = %q, want unless-stopped", name, s.Restart)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
			t.Errorf("%s: no healthcheck", name)
			continue
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
			t.Errorf("%s: healthcheck should set interval, timeout, retries and start_period", name)
		}
	}
}

func TestDependenciesWaitForHealthOrCompletion(t *testing.T) {
	p := loadProject(t)
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			want := types.ServiceConditionHealthy
			if oneShot[dep] {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
	}
	// The start order the pipeline needs, each step gated on the previous one.
	for name, deps := range map[string][]string{
		"topics":        {"kafka"},
		"flink":         {"topics", "rules-watcher"},
		"rules-watcher": {"topics"},
		"generator":     {"flink", "ingest"},
		"ingest":        {"topics"},
		"flight":        {"ingest"},
		"jupyter":       {"flight", "flink"},
	} {
		s := service(t, p, name)
		for _, dep := range deps {
			if _, ok := s.DependsOn[dep]; !ok {
				t.Errorf("%s should depend on %s", name, dep)
			}
		}
	}
}

// `docker compose up --wait` (just up) counts a one-shot container's exit as
// a failure unless a long-running service waits for its completion.
func TestEveryOneShotIsAwaitedByALongRunningService(t *testing.T) {
	p := loadProject(t)
	for shot := range oneShot {
		if _, err := p.GetService(shot); err != nil {
			t.Fatalf("one-shot %s: %v", shot, err)
		}
		var waiters []string
		for name, s := range p.Services {
			if d, ok := s.DependsOn[shot]; ok && !oneShot[name] && d.Condition == types.ServiceConditionCompletedSuccessfully {
				waiters = append(waiters, name)
			}
		}
		if len(waiters) == 0 {
			t.Errorf("%s: no long-running service depends on it with service_completed_successfully; just up's --wait would fail", shot)
		}
	}
}

func TestMemoryLimitsFitTheLaptopBudget(t *testing.T) {
	p := loadProject(t)
	var total int64
	names := p.ServiceNames()
	sort.Strings(names)
	var lines []string
	for _, name := range names {
		s := service(t, p, name)
		lim := memLimit(s)
		if lim <= 0 {
			t.Errorf("%s: no memory limit (mem_limit or deploy.resources.limits.memory)", name)
			continue
		}
		total += lim
		lines = append(lines, name+"="+strconv.FormatInt(lim>>20, 10)+"MiB")
		if gml := env(s, "GOMEMLIMIT"); gml != "" {
			n := parseSize(t, name+" GOMEMLIMIT", gml)
			if n >= lim {
				t.Errorf("%s: GOMEMLIMIT %s is not below the container limit %d MiB", name, gml, lim>>20)
			}
		}
	}
	t.Logf("memory limits: %s; total %d MiB of %d MiB", strings.Join(lines, " "), total>>20, int64(memoryBudget)>>20)
	if total > memoryBudget {
		t.Fatalf("memory limits add up to %d MiB, over the laptop budget of %d MiB", total>>20, int64(memoryBudget)>>20)
	}
}

var xmxRE = regexp.MustCompile(`-Xmx(\d+[kmgKMG])`)

func TestJVMSizesFitTheirContainers(t *testing.T) {
	p := loadProject(t)
	kafka := service(t, p, "kafka")
	m := xmxRE.FindStringSubmatch(env(kafka, "KAFKA_HEAP_OPTS"))
	if m == nil {
		t.Fatalf("kafka: KAFKA_HEAP_OPTS sets no -Xmx; the scripts' default is 1 GB")
	}
	// Off-heap (metaspace, direct buffers, threads) needs room beside the heap.
	if heap := parseSize(t, "kafka heap", m[1]); heap > memLimit(kafka)*6/10 {
		t.Errorf("kafka: heap %s leaves too little of the %d MiB limit for off-heap memory", m[1], memLimit(kafka)>>20)
	}
	// The Flink JVM: its heap, plus what Flink's MiniCluster takes beside it
	// (LocalCluster: RocksDB's 128 MB of managed memory, 32 MB of network
	// buffers) and the JVM's own metaspace, code cache and thread stacks.
	flink := service(t, p, "flink")
	var heap int64
	for _, a := range flink.Command {
		if m := xmxRE.FindStringSubmatch(a); m != nil {
			heap = parseSize(t, "flink heap", m[1])
		}
	}
	if heap == 0 {
		t.Fatalf("flink: the command sets no -Xmx: %v", flink.Command)
	}
	const managed, network, jvmOwn = 128 << 20, 32 << 20, 256 << 20
	if need := heap + managed + network + jvmOwn; need > memLimit(flink) {
		t.Errorf("flink: heap %d MiB + managed %d + network %d + JVM %d MiB exceed the limit %d MiB",
			heap>>20, managed>>20, network>>20, jvmOwn>>20, memLimit(flink)>>20)
	}
}

func TestDuckDBMemoryFitsTheFlightContainer(t *testing.T) {
	p := loadProject(t)
	s := service(t, p, "flight")
	v, ok := flagValue(s.Command, "memory-limit")
	if !ok {
		t.Fatalf("flight: no --memory-limit; lakectl serve's default DuckDB memory limit is 2GB")
	}
	duck := parseSize(t, "--memory-limit", strings.TrimSuffix(strings.ToUpper(v), "B"))
	gml := parseSize(t, "GOMEMLIMIT", env(s, "GOMEMLIMIT"))
	if duck+gml >= memLimit(s) {
		t.Errorf("flight: DuckDB %s + Go %s do not fit the container limit %d MiB", v, env(s, "GOMEMLIMIT"), memLimit(s)>>20)
	}
}

func TestKafkaClusterIDIsAKafkaUUID(t *testing.T) {
	id := env(service(t, loadProject(t), "kafka"), "CLUSTER_ID")
	// kafka-storage format takes a base64url (unpadded) 16-byte UUID; other
	// strings fail or silently lose bits.
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 16 || base64.RawURLEncoding.EncodeToString(b) != id {
		t.Fatalf("kafka CLUSTER_ID %q is not a base64url-encoded 16-byte UUID (bytes %d, err %v)", id, len(b), err)
	}
}

func flinkProperties(s string) map[string]string {
	props := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return props
}

// parseSize reads 512m, 1g, 400MiB, 1024k or a plain byte count.
func parseSize(t *testing.T, what, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)\s*([kKmMgG]?)(i?[bB])?$`).FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		t.Fatalf("%s: cannot read size %q", what, s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	switch strings.ToLower(m[2]) {
	case "k":
		n <<= 10
	case "m":
		n <<= 20
	case "g":
		n <<= 30
	}
	return n
}

func TestEveryPortIsBoundToLoopbackOnTheContractPort(t *testing.T) {
	p := loadProject(t)
	for name, s := range p.Services {
		if s.NetworkMode == "host" {
			t.Errorf("%s: network_mode host would expose every port it opens", name)
		}
		var got []uint32
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want 127.0.0.1 only", name, port.Target, port.HostIP)
			}
			if port.Published != strconv.Itoa(int(port.Target)) {
				t.Errorf("%s: container port %d published as %q; the laptop should see the contract's port", name, port.Target, port.Published)
			}
			got = append(got, port.Target)
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		if want := wantPorts()[name]; !equalPorts(got, want) {
			t.Errorf("%s: published ports %v, want %v", name, got, want)
		}
	}
}

func equalPorts(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mountAt(s types.ServiceConfig, target string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if v.Target == target {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

func TestStateLivesInNamedVolumes(t *testing.T) {
	p := loadProject(t)
	for _, v := range []string{"kafka-data", "flink-checkpoints", "lake"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("named volume %q is not declared", v)
		}
	}
	named := func(svc, volume, target string) {
		t.Helper()
		s := service(t, p, svc)
		v, ok := mountAt(s, target)
		if !ok || v.Type != types.VolumeTypeVolume || v.Source != volume {
			t.Errorf("%s: want named volume %q at %s, got %+v", svc, volume, target, v)
		}
	}
	kafka := service(t, p, "kafka")
	named("kafka", "kafka-data", env(kafka, "KAFKA_LOG_DIRS"))

	fl := service(t, p, "flink")
	dir, ok := flagValue(fl.Command, "checkpoint-dir")
	if !ok {
		t.Fatalf("flink: no --checkpoint-dir in %v", fl.Command)
	}
	dir = strings.TrimPrefix(dir, "file://")
	// The checkpoints and, beside them, RocksDB's working copy (DIR.rocksdb).
	if v, ok := mountAt(fl, filepath.Dir(dir)); !ok || v.Type != types.VolumeTypeVolume || v.Source != "flink-checkpoints" {
		t.Errorf("flink: want named volume flink-checkpoints at %s, the parent of --checkpoint-dir %s, got %+v", filepath.Dir(dir), dir, v)
	}

	for _, name := range []string{"ingest", "flight"} {
		s := service(t, p, name)
		data := env(s, "FINLAKE_DATA")
		if data == "" {
			t.Errorf("%s: FINLAKE_DATA unset", name)
			continue
		}
		named(name, "lake", data)
	}
}

func TestRuleEditsOnTheLaptopReachTheWatcher(t *testing.T) {
	p := loadProject(t)
	s := service(t, p, "rules-watcher")
	if len(s.Command) < 3 || s.Command[0] != "rules" || s.Command[1] != "watch" {
		t.Fatalf("rules-watcher command = %v, want rules watch FILE", s.Command)
	}
	file := s.Command[2]
	var found bool
	for _, v := range s.Volumes {
		rel, err := filepath.Rel(v.Target, file)
		if v.Type != types.VolumeTypeBind || err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		found = true
		host := filepath.Join(repoRoot, v.Source)
		if st, err := os.Stat(host); err != nil || !st.IsDir() {
			// A single-file bind mount keeps the old inode when an editor
			// saves by renaming, so edits would never be seen.
			t.Errorf("rules-watcher: %s should be a directory bind mount: %v", v.Source, err)
		}
		if _, err := os.Stat(filepath.Join(host, rel)); err != nil {
			t.Errorf("rules-watcher watches %s, but %s does not exist on the laptop side: %v", file, filepath.Join(v.Source, rel), err)
		}
		if filepath.Clean(v.Source) != "config" {
			t.Errorf("rules-watcher mounts %s, want the repository's config/", v.Source)
		}
	}
	if !found {
		t.Errorf("rules-watcher: %s is not inside any bind mount of ./config", file)
	}
}

// baseImage is the one image every Dockerfile starts from: made by the
// project itself (deploy/base/build.sh), so nothing is pulled from a registry.
const baseImage = "finlake/base:bookworm"

var archSpecific = regexp.MustCompile(`(?i)amd64|x86_64|aarch64|arm64|\bx64\b`)
var download = regexp.MustCompile(`(?i)\b(curl|wget)\b[^\n]*https?://`)

func TestEveryImageBuildsFromTheProjectsBaseForArm64AndAmd64(t *testing.T) {
	p := loadProject(t)
	// An image another service builds is made here too (the jupyter image
	// copies from lakectl's and flinkjob's).
	built := map[string]bool{}
	for _, s := range p.Services {
		if s.Build != nil {
			built[s.Image] = true
		}
	}
	for name, s := range p.Services {
		if s.Platform != "" {
			t.Errorf("%s: platform pinned to %s; the M1 needs its native arm64 image", name, s.Platform)
		}
		if s.Build == nil {
			t.Errorf("%s: pulls %q; every image builds from deploy/", name, s.Image)
			continue
		}
		if s.Build.Context != "." && s.Build.Context != filepath.Clean(repoRoot) {
			t.Errorf("%s: build context %q, want the repository root", name, s.Build.Context)
		}
		df := readFile(t, s.Build.Dockerfile)
		if strings.HasPrefix(df, "# syntax=") {
			t.Errorf("%s: %s starts with a syntax directive; BuildKit would pull that frontend image", name, s.Build.Dockerfile)
		}
		if !slices.ContainsFunc(s.Build.Secrets, func(sc types.ServiceSecretConfig) bool { return sc.Source == "extra_ca" }) {
			t.Errorf("%s: the build gets no extra_ca secret; FINLAKE_EXTRA_CA would not reach it", name)
		}
		if s.Build.Target != "" && !isStage(df, s.Build.Target) {
			t.Errorf("%s: target %q is no stage of %s", name, s.Build.Target, s.Build.Dockerfile)
		}
		var args = map[string]string{}
		for _, line := range strings.Split(df, "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "ARG" {
				k, v, _ := strings.Cut(f[1], "=")
				args[k] = v
			}
			if len(f) < 2 || f[0] != "FROM" {
				continue
			}
			base := f[1]
			if strings.HasPrefix(base, "${") {
				base = args[strings.Trim(base, "${}")]
			}
			if !isStage(df, base) && base != baseImage && (!built[base] || base == s.Image) {
				t.Errorf("%s: %s builds FROM %q, not %s (deploy/base/build.sh) or one of its own stages", name, s.Build.Dockerfile, base, baseImage)
			}
		}
		for _, line := range strings.Split(df, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if archSpecific.MatchString(line) {
				t.Errorf("%s: %s names an architecture: %q", name, s.Build.Dockerfile, line)
			}
			if download.MatchString(line) {
				t.Errorf("%s: %s downloads by URL (architecture-specific or unpinned): %q", name, s.Build.Dockerfile, line)
			}
		}
	}
}

func isStage(dockerfile, name string) bool {
	return regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+` + regexp.QuoteMeta(name) + `\s*$`).MatchString(dockerfile)
}

func TestGoRolesShareOneImageBuiltLikeJustBuild(t *testing.T) {
	p := loadProject(t)
	var dockerfile string
	for _, name := range []string{"topics", "rules-watcher", "generator", "ingest", "flight"} {
		s := service(t, p, name)
		if s.Image != lakectlImage || s.Build == nil {
			t.Errorf("%s: image %q, want %s built from the repository", name, s.Image, lakectlImage)
			continue
		}
		if dockerfile == "" {
			dockerfile = s.Build.Dockerfile
		} else if s.Build.Dockerfile != dockerfile {
			t.Errorf("%s: built from %s, the other Go roles from %s", name, s.Build.Dockerfile, dockerfile)
		}
	}
	if dockerfile == "" {
		t.Fatal("no Go role found")
	}
	df := readFile(t, dockerfile)
	tags := regexp.MustCompile(`(?m)^tags\s*:=\s*"([^"]+)"`).FindStringSubmatch(readFile(t, "justfile"))
	if tags == nil {
		t.Fatal("justfile: no tags := \"...\" line")
	}
	build := regexp.MustCompile(`go build [^\n]*`).FindString(df)
	for _, want := range []string{"-tags " + tags[1], "./cmd/lakectl"} {
		if !strings.Contains(build, want) {
			t.Errorf("%s: go build line %q lacks %q (the justfile's build recipe uses it)", dockerfile, build, want)
		}
	}
	if !strings.Contains(df, "CGO_ENABLED=1") {
		t.Errorf("%s: DuckDB needs cgo: set CGO_ENABLED=1", dockerfile)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \["lakectl"\]`).MatchString(df) {
		t.Errorf("%s: entrypoint should be lakectl, so a service's command is lakectl's arguments", dockerfile)
	}
}

var pomProp = func(pom, name string) string {
	m := regexp.MustCompile(`<` + regexp.QuoteMeta(name) + `>([^<]+)</`).FindStringSubmatch(pom)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

func TestJavaImagesBuildTheDevStacksVersions(t *testing.T) {
	p := loadProject(t)
	pom := readFile(t, "flinkjob/pom.xml")
	if rel := pomProp(pom, "maven.compiler.release"); rel != "17" {
		t.Errorf("flinkjob/pom.xml: maven.compiler.release %q; the images run Java 17", rel)
	}
	kafka := service(t, p, "kafka")
	df := readFile(t, kafka.Build.Dockerfile)
	if !strings.Contains(df, "openjdk-17-jre-headless") {
		t.Errorf("%s: the images should run Debian's OpenJDK 17 (the job's release)", kafka.Build.Dockerfile)
	}
	// Kafka's jars: the pom and versions `lakectl kafka fetch` uses, not a copy.
	for _, f := range []string{"stack/kafkalocal/pom.xml.tmpl", "stack/kafkalocal/jars.go"} {
		if !regexp.MustCompile(`(?m)^COPY [^\n]*` + regexp.QuoteMeta(f)).MatchString(df) {
			t.Errorf("%s: the kafka image should fetch its jars with %s", kafka.Build.Dockerfile, f)
		}
	}
	if !strings.Contains(readFile(t, "stack/kafkalocal/jars.go"), `KafkaVersion = "`+kafkalocal.KafkaVersion+`"`) {
		t.Errorf("stack/kafkalocal/jars.go: the kafka image's Dockerfile reads `KafkaVersion = \"...\"`; keep that form")
	}
}

func TestFlinkRunsTheJobJarBuiltInItsImage(t *testing.T) {
	p := loadProject(t)
	fl := service(t, p, "flink")
	df := readFile(t, fl.Build.Dockerfile)
	jar := ""
	for i, a := range fl.Command {
		if a == "-jar" && i+1 < len(fl.Command) {
			jar = fl.Command[i+1]
		}
	}
	if jar == "" {
		t.Fatalf("flink: command %v runs no -jar", fl.Command)
	}
	if !regexp.MustCompile(`COPY --from=\S+ [^\n]*/flinkjob/target/finlake-flinkjob\.jar ` + regexp.QuoteMeta(jar) + `\s`).MatchString(df) {
		t.Errorf("%s: should copy flinkjob/target/finlake-flinkjob.jar to %s, the jar the command runs", fl.Build.Dockerfile, jar)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \["java"\]`).MatchString(df) {
		t.Errorf("%s: entrypoint should be java, so the command is java's arguments as in `just dev`", fl.Build.Dockerfile)
	}
}

func TestJupyterReachesFlightAndMountsTheNotebooks(t *testing.T) {
	p := loadProject(t)
	j := service(t, p, "jupyter")
	flight := service(t, p, "flight")
	addr, _ := flagValue(flight.Command, "listen")
	_, port, _ := strings.Cut(addr, ":")
	if got, want := env(j, "FINLAKE_FLIGHT"), "grpc://flight:"+port; got != want {
		t.Errorf("jupyter FINLAKE_FLIGHT = %q, want %q (flight serves %s)", got, want, addr)
	}
	v, ok := mountAt(j, "/home/analyst/notebooks")
	if !ok || v.Type != types.VolumeTypeBind || filepath.Clean(v.Source) != "notebooks" {
		t.Errorf("jupyter should mount ./notebooks at its working directory, got %+v", v)
	}
	if tok := env(flight, "FINLAKE_ADMIN_TOKEN"); tok == "" || env(j, "FINLAKE_TOKEN") != tok {
		t.Errorf("jupyter FINLAKE_TOKEN %q should be flight's admin token %q: notebook 03 adds a column", env(j, "FINLAKE_TOKEN"), tok)
	}
	reqs := readFile(t, "notebooks/requirements.txt")
	for _, pkg := range []string{"adbc-driver-flightsql", "pyarrow", "pandas", "polars", "matplotlib", "jupyterlab", "ipykernel"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(pkg) + `\b`).MatchString(reqs) {
			t.Errorf("notebooks/requirements.txt lacks %s", pkg)
		}
	}
}

// lakectlBinary is the binary `just test` built (FINLAKE_BIN), or one built
// here the same way.
func lakectlBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("FINLAKE_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "lakectl")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "duckdb_arrow", "-o", out, "./cmd/lakectl")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build lakectl: %v\n%s", err, b)
	}
	return out
}

var helpFlagRE = regexp.MustCompile(`(?m)^\s+(?:-\w[, ]+)?--([a-z0-9][a-z0-9-]*)`)
var helpEnvRE = regexp.MustCompile(`\$(FINLAKE_[A-Z0-9_]+)`)

func TestLakectlServicesUseOnlyFlagsAndVariablesThatExist(t *testing.T) {
	p := loadProject(t)
	bin := lakectlBinary(t)
	type call struct {
		where string
		args  []string
		env   types.MappingWithEquals
	}
	var calls []call
	for name, s := range p.Services {
		if s.Image != lakectlImage {
			continue
		}
		calls = append(calls, call{name + " command", s.Command, s.Environment})
		if hc := s.HealthCheck; hc != nil && len(hc.Test) > 2 && hc.Test[0] == "CMD" && hc.Test[1] == "lakectl" {
			calls = append(calls, call{name + " healthcheck", hc.Test[2:], s.Environment})
		}
	}
	rootHelp := run(t, bin, "--help")
	sharedEnv := map[string]bool{}
	for _, d := range devSpecs(t) {
		for _, kv := range d.Env {
			k, _, _ := strings.Cut(kv, "=")
			sharedEnv[k] = true
		}
	}
	for _, c := range calls {
		var path []string
		for _, a := range c.args {
			if strings.HasPrefix(a, "-") {
				break
			}
			path = append(path, a)
		}
		// Positional arguments follow the command path; find the deepest
		// prefix that lakectl knows as a command.
		var help string
		for n := len(path); n > 0; n-- {
			h := run(t, bin, append(append([]string{}, path[:n]...), "--help")...)
			if strings.Contains(h, "lakectl "+strings.Join(path[:n], " ")+" -") {
				help = h
				break
			}
		}
		if help == "" {
			t.Errorf("%s: lakectl has no command %v", c.where, path)
			continue
		}
		known := map[string]bool{"help": true}
		for _, m := range helpFlagRE.FindAllStringSubmatch(help+rootHelp, -1) {
			known[m[1]] = true
		}
		for _, a := range c.args {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				if !known[name] {
					t.Errorf("%s: lakectl %s has no flag --%s", c.where, strings.Join(path, " "), name)
				}
			}
		}
		knownEnv := map[string]bool{}
		for _, m := range helpEnvRE.FindAllStringSubmatch(help+rootHelp, -1) {
			knownEnv[m[1]] = true
		}
		for k := range c.env {
			// The stack gives every role the same FINLAKE_* set (brokers
			// included, which serve ignores); check the others.
			if strings.HasPrefix(k, "FINLAKE_") && !knownEnv[k] && !sharedEnv[k] {
				t.Errorf("%s: sets %s, which lakectl %s does not read", c.where, k, strings.Join(path, " "))
			}
		}
	}
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out)
}

// The dev stack's processes, configured with the paths the containers use,
// so that only addresses differ between the two.
func devSpecs(t *testing.T) map[string]supervisor.Spec {
	t.Helper()
	specs, err := stack.Config{
		DataDir:   "/data",
		Bin:       "lakectl",
		Java:      "java",
		RulesFile: "/config/rules.yaml",
		FlinkJar:  "/opt/flink/usrlib/finlake-flinkjob.jar",
	}.Specs()
	if err != nil {
		t.Fatalf("stack specs: %v", err)
	}
	out := map[string]supervisor.Spec{}
	for _, s := range specs {
		out[s.Name] = s
	}
	if len(out) != len(stack.ProcessNames()) {
		t.Fatalf("stack specs %v, want one per process %v", out, stack.ProcessNames())
	}
	return out
}

// composeFor is the compose service that runs each dev process, and
// healthFor the one whose health means that process is up (the Flink job
// runs once the TaskManager has joined).
var composeFor = map[string]string{
	stack.Kafka: "kafka", stack.Rules: "rules-watcher", stack.Flink: "flink",
	stack.Ingest: "ingest", stack.Serve: "flight", stack.Generator: "generator",
}
var healthFor = map[string]string{
	stack.Kafka: "kafka", stack.Rules: "rules-watcher", stack.Flink: "flink",
	stack.Ingest: "ingest", stack.Serve: "flight", stack.Generator: "generator",
}

// toDev rewrites a container-side value to its `just dev` counterpart: the
// containers reach Kafka on its internal listener, and servers listen on all
// of the container's interfaces (the published port is what stays on
// 127.0.0.1).
func toDev(v string) string {
	v = strings.ReplaceAll(v, "kafka:19092", stack.Host+":"+strconv.Itoa(stack.DefaultPorts().Kafka))
	if rest, ok := strings.CutPrefix(v, "0.0.0.0:"); ok {
		v = stack.Host + ":" + rest
	}
	return v
}

// composeOwnValue are flags whose value the containers set differently,
// with the reason.
var composeOwnValue = map[string]map[string]string{
	stack.Serve: {"--memory-limit": "DuckDB must fit the flight container's memory limit"},
}

// sameArgs compares argument lists, letting the values of the named flags differ.
func sameArgs(got, want []string, own map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && (i == 0 || got[i-1] != want[i-1] || own[got[i-1]] == "") {
			return false
		}
	}
	return true
}

// composeOnlyEnv are variables only the containers need, with the reason.
var composeOnlyEnv = map[string]string{
	"GOMEMLIMIT":          "the Go runtime does not see the container's memory limit",
	"FINLAKE_ADMIN_TOKEN": "Jupyter reaches flight from another container, not from loopback, so ALTER TABLE needs the admin token",
}

func TestServicesRunWhatJustDevRuns(t *testing.T) {
	p := loadProject(t)
	dev := devSpecs(t)
	for _, name := range []string{stack.Rules, stack.Ingest, stack.Serve, stack.Generator} {
		d, s := dev[name], service(t, p, composeFor[name])
		if s.Image != lakectlImage || d.Command != "lakectl" {
			t.Errorf("%s: dev runs %s, compose %s runs image %s", name, d.Command, s.Name, s.Image)
		}
		got := make([]string, len(s.Command))
		for i, a := range s.Command {
			got[i] = toDev(a)
		}
		if !sameArgs(got, d.Args, composeOwnValue[name]) {
			t.Errorf("%s: compose runs lakectl %v (as dev: %v), just dev runs lakectl %v", s.Name, s.Command, got, d.Args)
		}
		devEnv := map[string]string{}
		for _, kv := range d.Env {
			k, v, _ := strings.Cut(kv, "=")
			devEnv[k] = v
		}
		for k, v := range devEnv {
			if got := toDev(env(s, k)); got != v {
				t.Errorf("%s: %s=%q (as dev: %q), just dev sets %q", s.Name, k, env(s, k), got, v)
			}
		}
		for k := range s.Environment {
			if _, ok := devEnv[k]; !ok && composeOnlyEnv[k] == "" {
				t.Errorf("%s: sets %s, which just dev does not", s.Name, k)
			}
		}
	}

	// The Flink job: the same java command line, plus the web UI's bind address.
	fl := service(t, p, "flink")
	f := dev[stack.Flink]
	var got []string
	for i := 0; i < len(fl.Command); i++ {
		if fl.Command[i] == "--flink" && i+1 < len(fl.Command) && fl.Command[i+1] == "rest.bind-address=0.0.0.0" {
			i++ // the container's own: the published port is what stays on loopback
			continue
		}
		got = append(got, toDev(fl.Command[i]))
	}
	if strings.Join(got, " ") != strings.Join(f.Args, " ") {
		t.Errorf("flink runs java %v (as dev: %v), just dev runs java %v", fl.Command, got, f.Args)
	}

	// Kafka: the same heap as the no-Docker broker.
	if m := xmxRE.FindStringSubmatch(env(service(t, p, "kafka"), "KAFKA_HEAP_OPTS")); m == nil ||
		parseSize(t, "kafka heap", m[1]) != int64(kafkalocal.DefaultHeapMB)<<20 {
		t.Errorf("kafka: KAFKA_HEAP_OPTS %v, want -Xmx%dm as `lakectl kafka run`", m, kafkalocal.DefaultHeapMB)
	}
}

func TestServicesGetAsLongToStopAsInTheDevStack(t *testing.T) {
	p := loadProject(t)
	for name, d := range devSpecs(t) {
		s := service(t, p, composeFor[name])
		// Docker's default grace before SIGKILL is 10 s.
		grace := 10 * time.Second
		if s.StopGracePeriod != nil {
			grace = time.Duration(*s.StopGracePeriod)
		}
		want := d.StopTimeout
		if want == 0 {
			want = 15 * time.Second // the supervisor's default
		}
		if grace < want {
			t.Errorf("%s: stop_grace_period %s, but just dev gives %s %s to stop cleanly", s.Name, grace, name, want)
		}
	}
}

func TestStartOrderFollowsTheDevStack(t *testing.T) {
	p := loadProject(t)
	dev := devSpecs(t)
	for name, d := range dev {
		from := composeFor[name]
		for _, dep := range d.DependsOn {
			if !dependsOn(p, from, healthFor[dep], map[string]bool{}) {
				t.Errorf("just dev starts %s after %s is healthy; compose %s does not wait for %s", name, dep, from, healthFor[dep])
			}
		}
	}
}

func dependsOn(p *types.Project, from, to string, seen map[string]bool) bool {
	if from == to {
		return true
	}
	if seen[from] {
		return false
	}
	seen[from] = true
	s, err := p.GetService(from)
	if err != nil {
		return false
	}
	for dep := range s.DependsOn {
		if dependsOn(p, dep, to, seen) {
			return true
		}
	}
	return false
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// A user points `just up` at PostgreSQL the way they point `just dev` at it,
// by exporting FINLAKE_CATALOG_URI: every Go role gets it, and can reach a
// server on the host by the name the README gives.
func TestExportedCatalogURIReachesEveryGoRoleAsInJustDev(t *testing.T) {
	const uri = "postgres://finlake:finlake@host.docker.internal:5432/finlake?sslmode=disable"
	p := loadProjectWith(t, []string{"FINLAKE_CATALOG_URI=" + uri})
	for _, s := range p.Services {
		if s.Image != lakectlImage {
			continue
		}
		if got := env(s, "FINLAKE_CATALOG_URI"); got != uri {
			t.Errorf("%s: FINLAKE_CATALOG_URI=%q, want the exported %q", s.Name, got, uri)
		}
		if got := s.ExtraHosts["host.docker.internal"]; len(got) != 1 || got[0] != "host-gateway" {
			t.Errorf("%s: extra_hosts host.docker.internal=%v, want host-gateway (a PostgreSQL on the host)", s.Name, got)
		}
	}
}

// Notebook 05 runs `lakectl rules backtest` inside the Jupyter container: the
// image carries the lakectl and the job jar of the images flight and flink
// run, the container sees the live rules, and the backtest's two processes
// (run one after the other) each fit its memory limit beside the kernel.
func TestJupyterCarriesTheBacktestWithinItsMemoryLimit(t *testing.T) {
	p := loadProject(t)
	j := service(t, p, "jupyter")
	df := readFile(t, j.Build.Dockerfile)
	for _, want := range []string{
		`(?m)^ARG LAKECTL_IMAGE=` + regexp.QuoteMeta(service(t, p, "flight").Image) + `$`,
		`(?m)^ARG FLINKJOB_IMAGE=` + regexp.QuoteMeta(service(t, p, "flink").Image) + `$`,
		`(?m)^COPY --from=lakectl /usr/local/bin/lakectl /usr/local/bin/lakectl$`,
		`(?m)^COPY --from=flinkjob /opt/flink/usrlib/finlake-flinkjob.jar ` + regexp.QuoteMeta(env(j, "FINLAKE_FLINK_JAR")) + `$`,
		`openjdk-17-jre-headless`,
	} {
		if !regexp.MustCompile(want).MatchString(df) {
			t.Errorf("%s: no line matching %s", j.Build.Dockerfile, want)
		}
	}
	if v, ok := mountAt(j, env(j, "FINLAKE_CONFIG")); !ok || filepath.Clean(v.Source) != "config" || !v.ReadOnly {
		t.Errorf("jupyter should mount ./config read-only at FINLAKE_CONFIG=%q, got %+v", env(j, "FINLAKE_CONFIG"), v)
	}
	m := xmxRE.FindStringSubmatch(env(j, "FINLAKE_BACKTEST_JAVA_OPTS"))
	if m == nil {
		t.Fatalf("jupyter: FINLAKE_BACKTEST_JAVA_OPTS=%q sets no -Xmx", env(j, "FINLAKE_BACKTEST_JAVA_OPTS"))
	}
	const kernel, jvmOverHeap = 256 << 20, 200 << 20 // the notebook's kernel; metaspace, threads, direct buffers
	heap := parseSize(t, "backtest -Xmx", m[1])
	gml := parseSize(t, "GOMEMLIMIT", env(j, "GOMEMLIMIT"))
	if need := kernel + max(heap+jvmOverHeap, gml); need > memLimit(j) {
		t.Errorf("jupyter: kernel %d MiB + the larger of the replay JVM (%d MiB heap + %d) and lakectl (%d MiB) exceeds mem_limit %d MiB",
			kernel>>20, heap>>20, jvmOverHeap>>20, gml>>20, memLimit(j)>>20)
	}
}
