package kafkalocal_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/finlake/finlake/stack/kafkalocal"
)

// rssMB reads a process's resident set size from /proc (Linux).
func rssMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the user+system CPU a process has used (Linux, 100 Hz
// clock ticks): unlike wall time, barely changed by other load.
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// BenchmarkBrokerStart measures Start on an already formatted dir (the
// common case: restarts, and every start after the CDS archive exists) until
// the broker serves, the JVM's CPU time until then (cpu_s: what a start
// costs on a machine shared with other work), and its RSS then and after
// 10 s idle.
//
//	go test ./stack/kafkalocal -run '^$' -bench BrokerStart -benchtime 5x
func BenchmarkBrokerStart(b *testing.B) {
	for _, quick := range []bool{false, true} {
		b.Run(fmt.Sprintf("quick=%v", quick), func(b *testing.B) {
			dir := b.TempDir()
			ctx := context.Background()
			// Format the dir (and write the CDS archive) outside the timing.
			br, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: dir, QuickStart: quick})
			if err != nil {
				b.Fatal(err)
			}
			if err := br.Stop(); err != nil {
				b.Fatal(err)
			}
			var stop time.Duration
			var rssSum, idleSum, cpuSum float64
			b.ResetTimer()
			for range b.N {
				br, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: dir, QuickStart: quick})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpuSum += cpuSeconds(br.Pid())
				rssSum += rssMB(br.Pid())
				time.Sleep(10 * time.Second)
				idleSum += rssMB(br.Pid())
				t0 := time.Now()
				if err := br.Stop(); err != nil {
					b.Fatal(err)
				}
				stop += time.Since(t0)
				b.StartTimer()
			}
			b.ReportMetric(cpuSum/float64(b.N), "cpu_s")
			b.ReportMetric(rssSum/float64(b.N), "rss_MB")
			b.ReportMetric(idleSum/float64(b.N), "idle_rss_MB")
			b.ReportMetric(stop.Seconds()/float64(b.N), "stop_s")
		})
	}
}
