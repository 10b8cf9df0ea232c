package io.finlake.flinkjob;

import io.finlake.flinkjob.rules.RuleParser;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Command-line options of both modes. */
final class Options {
    String bootstrap = "127.0.0.1:9092";
    Path checkpointDir;
    int restPort = 8081;
    Duration checkpointInterval = Duration.ofSeconds(1);
    String stateBackend = "rocksdb";
    /** Extra Flink options (--flink key=value), for tuning and benchmarks. */
    Map<String, String> flinkConf = new LinkedHashMap<>();
    Duration stateTtl = Duration.ofHours(48);
    Duration outOfOrderness = Duration.ofSeconds(2);
    Duration idleness = Duration.ofSeconds(5);
    /** How far one raw split's watermark may run ahead of the lowest; null: unaligned (--max-drift off). */
    Duration maxDrift = Duration.ofSeconds(30);
    Duration transactionTimeout = Duration.ofMinutes(10);
    int parallelism = 2;

    Path replay;
    Path rules;
    Path fx;
    Path out;
    boolean help;

    static final String USAGE = """
            finlake Flink job: validation, dead letters, lifecycle and fraud rules over raw-transactions.

            Streaming (Kafka in, exactly-once Kafka out, Flink web UI/REST on --rest-port):
              java -jar finlake-flinkjob.jar --bootstrap 127.0.0.1:9092 --checkpoint-dir DIR
                  [--rest-port 8081] [--checkpoint-interval 1s] [--state-ttl 48h]
                  [--out-of-orderness 2s] [--idleness 5s] [--max-drift 30s|off] [--parallelism 2]
                  [--transaction-timeout 10m]
                  [--state-backend rocksdb|changelog|hashmap] [--flink KEY=VALUE]...
              Resumes from the newest completed checkpoint in DIR. Topics must exist (lakectl topics create)
              and alert-rules should hold the rules and _fx_rates (lakectl rules apply).
              Event time: per raw-transactions partition, the highest timestamp minus --out-of-orderness.
              A partition with no valid transaction for --idleness first advances to its highest timestamp
              (pending velocity/new_country decisions are made), then is idle until its next transaction;
              an event at or behind the watermark is late (metric late_events) and decided on arrival.
              --max-drift: a partition whose watermark is this far ahead of the lowest is paused until
              the others catch up (Flink watermark alignment), so a backlog is read in event-time order
              across partitions and what waits for the watermark stays small; off reads each partition
              at its own pace.
              --state-ttl: a transaction's lifecycle (duplicate and transition checks) is kept this long
              after its latest event, in event time. --state-backend rocksdb (default) keeps state in
              RocksDB under DIR.rocksdb, checkpointed incrementally (each checkpoint flushes the
              memtables and uploads the new SST files). changelog puts Flink's changelog in front of
              it: a checkpoint appends the changed values since the last one to a changelog in DIR and
              RocksDB is checkpointed every 3 minutes (state.changelog.periodic-materialize.interval);
              fewer bytes written at a few transactions/s, far more at high rates (every changed value
              is logged in full, ~2 KB per transaction). hashmap keeps state on the heap and writes it
              in full at every checkpoint. --flink sets any Flink option (repeatable).

            Replay (the same operators over a file, one raw record per line, file order = arrival order):
              java -jar finlake-flinkjob.jar --replay IN.jsonl --rules config/rules.yaml --fx config/fx_rates.yaml
                  --out DIR [--out-of-orderness 2s] [--parallelism 2]
              Writes DIR/transactions-processed.jsonl, DIR/alerts.jsonl, DIR/dead-letter.jsonl and prints a
              JSON summary on stdout. --parallelism sets the rule engine's (the file is read in order by one
              reader; the output is the same for any value).

            Durations: a positive integer and one unit of ms, s, m, h, d (e.g. 2s, 48h).
            """;

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                o.help = true;
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value\n\n" + USAGE);
                }
                value = args[++i];
            }
            switch (name) {
                case "--bootstrap" -> o.bootstrap = value;
                case "--checkpoint-dir" -> o.checkpointDir = Path.of(value);
                case "--rest-port" -> o.restPort = Integer.parseInt(value);
                case "--checkpoint-interval" -> o.checkpointInterval = duration(name, value);
                case "--state-ttl" -> o.stateTtl = duration(name, value);
                case "--out-of-orderness" -> o.outOfOrderness = duration(name, value);
                case "--idleness" -> o.idleness = duration(name, value);
                case "--max-drift" -> o.maxDrift = value.equals("off") ? null : duration(name, value);
                case "--transaction-timeout" -> o.transactionTimeout = duration(name, value);
                case "--parallelism" -> o.parallelism = Integer.parseInt(value);
                case "--state-backend" -> o.stateBackend = value;
                case "--flink" -> {
                    int e = value.indexOf('=');
                    if (e <= 0) {
                        throw new IllegalArgumentException("--flink needs KEY=VALUE (a Flink option), got " + value);
                    }
                    o.flinkConf.put(value.substring(0, e), value.substring(e + 1));
                }
                case "--replay" -> o.replay = Path.of(value);
                case "--rules" -> o.rules = Path.of(value);
                case "--fx" -> o.fx = Path.of(value);
                case "--out" -> o.out = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + name + "\n\n" + USAGE);
            }
        }
        if (o.help) {
            return o;
        }
        if (o.replay != null) {
            if (o.out == null) {
                throw new IllegalArgumentException("--replay needs --out DIR for the three output files");
            }
            if (o.rules == null && o.fx == null) {
                throw new IllegalArgumentException("--replay needs --rules FILE and --fx FILE (config/rules.yaml, config/fx_rates.yaml)");
            }
        } else if (o.checkpointDir == null) {
            throw new IllegalArgumentException("streaming mode needs --checkpoint-dir DIR (or --replay FILE for replay)\n\n" + USAGE);
        }
        if (o.transactionTimeout.compareTo(Duration.ofMinutes(15)) > 0) {
            throw new IllegalArgumentException("--transaction-timeout must be at most 15m, the broker's transaction.max.timeout.ms");
        }
        if (!LocalCluster.BACKENDS.contains(o.stateBackend)) {
            throw new IllegalArgumentException("--state-backend must be one of " + String.join(", ", LocalCluster.BACKENDS)
                    + ", got " + o.stateBackend);
        }
        if (o.parallelism < 1) {
            throw new IllegalArgumentException("--parallelism must be at least 1");
        }
        return o;
    }

    static Duration duration(String flag, String value) {
        try {
            return Duration.ofNanos(RuleParser.durationNanos(value, flag));
        } catch (RuleParser.InvalidRuleException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }
}
