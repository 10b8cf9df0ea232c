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

// summaryRE matches ProducerPerformance's summary (and progress) lines:
// "100000 records sent, 51282.1 records/sec (48.91 MB/sec), ...".
var summaryRE = regexp.MustCompile(`(\d+) records sent, ([0-9.]+) records/sec`)

// ProducerPerfTest runs Kafka's own producer benchmark
// (org.apache.kafka.tools.ProducerPerformance, i.e. kafka-producer-perf-test)
// from the cached jars against bootstrap, unthrottled, with Kafka's default
// producer settings (idempotent, acks=all) plus any "key=value" producer
// props. It returns the records/s of the final summary line and the tool's
// whole output, so our producer can be compared with Kafka's on the same
// broker, topic and record size. The topic must exist.
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
		"--producer-props", "bootstrap.servers=" + bootstrap}
	args = append(args, props...)
	cmd := exec.CommandContext(ctx, java, args...)
	cmd.SysProcAttr = sysProcAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, out.String(), fmt.Errorf("kafkalocal: ProducerPerformance on %s/%s: %w\n%s", bootstrap, topic, err, tail(out.Bytes(), 3000))
	}
	raw := out.String()
	var last []string
	for _, line := range strings.Split(raw, "\n") {
		if m := summaryRE.FindStringSubmatch(line); m != nil {
			last = m
		}
	}
	if last == nil {
		return 0, raw, fmt.Errorf("kafkalocal: no summary line in ProducerPerformance output:\n%s", tail(out.Bytes(), 3000))
	}
	if sent, _ := strconv.Atoi(last[1]); sent != numRecords {
		return 0, raw, fmt.Errorf("kafkalocal: ProducerPerformance sent %d of %d records:\n%s", sent, numRecords, tail(out.Bytes(), 3000))
	}
	rps, err := strconv.ParseFloat(last[2], 64)
	if err != nil {
		return 0, raw, fmt.Errorf("kafkalocal: parse records/sec %q: %w", last[2], err)
	}
	return rps, raw, nil
}
