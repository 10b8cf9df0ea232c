package kafkalocal

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// PerfSummary is the final line of Kafka's ProducerPerformance, e.g.
// "1000000 records sent, 122534.0 records/sec (23.37 MB/sec), 923.91 ms avg
// latency, 1415.00 ms max latency, 957 ms 50th, 1296 ms 95th, 1402 ms 99th,
// 1411 ms 99.9th."
type PerfSummary struct {
	Records                 int64
	RecordsPerSec, MBPerSec float64
	AvgLatencyMs            float64
	MaxLatencyMs            float64
	P50Ms, P95Ms, P99Ms     float64
}

var (
	summaryRE = regexp.MustCompile(`(\d+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9.]+) ms avg latency, ([0-9.]+) ms max latency`)
	pctRE     = regexp.MustCompile(`([0-9.]+) ms (50th|95th|99th)`)
)

// ParsePerfSummary reads the last summary line of ProducerPerformance
// output (progress lines look alike; the final one has the percentiles).
func ParsePerfSummary(raw string) (PerfSummary, error) {
	var s PerfSummary
	var last string
	for _, line := range strings.Split(raw, "\n") {
		if summaryRE.MatchString(line) {
			last = line
		}
	}
	if last == "" {
		return s, fmt.Errorf("kafkalocal: no summary line in ProducerPerformance output:\n%s", tail([]byte(raw), 3000))
	}
	m := summaryRE.FindStringSubmatch(last)
	s.Records, _ = strconv.ParseInt(m[1], 10, 64)
	s.RecordsPerSec, _ = strconv.ParseFloat(m[2], 64)
	s.MBPerSec, _ = strconv.ParseFloat(m[3], 64)
	s.AvgLatencyMs, _ = strconv.ParseFloat(m[4], 64)
	s.MaxLatencyMs, _ = strconv.ParseFloat(m[5], 64)
	for _, p := range pctRE.FindAllStringSubmatch(last, -1) {
		v, _ := strconv.ParseFloat(p[1], 64)
		switch p[2] {
		case "50th":
			s.P50Ms = v
		case "95th":
			s.P95Ms = v
		case "99th":
			s.P99Ms = v
		}
	}
	return s, nil
}

// ProducerPerfTest runs Kafka's own producer benchmark
// (org.apache.kafka.tools.ProducerPerformance, i.e. kafka-producer-perf-test)
// from the cached jars against bootstrap, unthrottled, with Kafka's default
// producer settings (idempotent, acks=all) plus any "key=value" producer
// props (e.g. "linger.ms=5", "compression.type=lz4"). It returns the
// records/s of the final summary line and the tool's whole output
// (ParsePerfSummary gives latencies), so our producer can be compared with
// Kafka's on the same broker, topic and record size. The topic must exist.
// Measure against a broker started without QuickStart.
func ProducerPerfTest(ctx context.Context, classpath, bootstrap, topic string, numRecords, recordSize int, props ...string) (float64, string, error) {
	java, err := javaBinary()
	if err != nil {
		return 0, "", err
	}
	args := []string{"-Xmx512m", "-Djava.awt.headless=true", "-cp", classpath,
		"org.apache.kafka.tools.ProducerPerformance",
		"--topic", topic,
		"--num-records", strconv.Itoa(numRecords),
		"--record-size", strconv.Itoa(recordSize),
		"--throughput", "-1",
		"--command-property", "bootstrap.servers=" + bootstrap}
	args = append(args, props...)
	cmd := exec.CommandContext(ctx, java, args...)
	cmd.SysProcAttr = sysProcAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runOnOwnThread(cmd); err != nil {
		return 0, out.String(), fmt.Errorf("kafkalocal: ProducerPerformance on %s/%s: %w\n%s", bootstrap, topic, err, tail(out.Bytes(), 3000))
	}
	raw := out.String()
	s, err := ParsePerfSummary(raw)
	if err != nil {
		return 0, raw, err
	}
	if s.Records != int64(numRecords) {
		return 0, raw, fmt.Errorf("kafkalocal: ProducerPerformance sent %d of %d records:\n%s", s.Records, numRecords, tail(out.Bytes(), 3000))
	}
	return s.RecordsPerSec, raw, nil
}
