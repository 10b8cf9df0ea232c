package io.finlake.flinkjob;

import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.engine.Route;
import io.finlake.flinkjob.io.KafkaIO;
import io.finlake.flinkjob.io.ReplayIO;
import io.finlake.flinkjob.io.Watermarks;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.rules.RuleParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point: the streaming job (default) or a bounded replay of a file (--replay). */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("finlake-flinkjob: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (o.help) {
            System.out.print(Options.USAGE);
            return;
        }
        try {
            if (o.replay != null) {
                ReplaySummary s = replay(o.replay, o.rules, o.fx, o.out, o.outOfOrderness, o.stateTtl, o.parallelism);
                System.out.println(s.toJson());
            } else {
                stream(o);
            }
        } catch (RuleParser.InvalidRuleException | IllegalArgumentException e) {
            System.err.println("finlake-flinkjob: " + e.getMessage());
            System.exit(2);
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            LOG.error("Kafka at {} did not answer: {} (is the broker up? `lakectl kafka run`, then `lakectl topics create`)",
                    o.bootstrap, e.getMessage());
            System.exit(1);
        }
    }

    // ---- streaming ---------------------------------------------------------------------------------

    static void stream(Options o) throws Exception {
        Files.createDirectories(o.checkpointDir);
        Configuration conf = baseConfig();
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, o.restPort);
        conf.set(RestOptions.BIND_PORT, Integer.toString(o.restPort));
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, o.parallelism);
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, o.checkpointDir.toAbsolutePath().toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, o.checkpointInterval);
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 2);
        conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, Duration.ofMinutes(2));
        conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, 10);
        // Records reach the sinks sooner; they become visible at the next checkpoint anyway.
        conf.set(ExecutionOptions.BUFFER_TIMEOUT, Duration.ofMillis(20));
        conf.set(PipelineOptions.NAME, "finlake-flinkjob");
        Optional<Path> latest = latestCheckpoint(o.checkpointDir);
        if (latest.isPresent()) {
            LOG.info("resuming from checkpoint {}", latest.get());
            pruneOlderRuns(o.checkpointDir, latest.get().getParent());
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, latest.get().toUri().toString());
        } else {
            LOG.info("no completed checkpoint in {}: starting fresh", o.checkpointDir);
        }

        KafkaIO.Snapshot rules = KafkaIO.readRules(o.bootstrap, Duration.ofSeconds(60));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(o.parallelism);
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);

        Engine.LongSupplierSerializable clock = System::currentTimeMillis;
        var raw = env.fromSource(KafkaIO.rawSource(o.bootstrap),
                        Watermarks.transactions(o.outOfOrderness, o.idleness, false), "raw-transactions")
                .uid("source-raw-transactions");
        var ruleStream = env.fromSource(KafkaIO.rulesSource(o.bootstrap), Watermarks.<RuleUpdate>neverHoldBack(),
                        "alert-rules")
                .uid("source-alert-rules")
                .setParallelism(1);
        Pipeline.Result r = Pipeline.build(raw, ruleStream,
                new Engine(rules.updates(), rules.end(), o.stateTtl, clock), new Route(clock), false, o.parallelism);
        r.processed().sinkTo(KafkaIO.sink(o.bootstrap, KafkaIO.PROCESSED, o.transactionTimeout))
                .uid("sink-transactions-processed").name("transactions-processed");
        r.alerts().sinkTo(KafkaIO.sink(o.bootstrap, KafkaIO.ALERTS, o.transactionTimeout))
                .uid("sink-alerts").name("alerts");
        r.deadLetters().sinkTo(KafkaIO.sink(o.bootstrap, KafkaIO.DEAD_LETTER, o.transactionTimeout))
                .uid("sink-dead-letter").name("dead-letter");
        LOG.info("starting: bootstrap {}, checkpoints every {} in {}, REST/web UI on 127.0.0.1:{}, parallelism {}",
                o.bootstrap, o.checkpointInterval, o.checkpointDir, o.restPort, o.parallelism);
        env.execute("finlake-flinkjob");
    }

    /** Memory for a laptop: the heap is set with -Xmx on the java command; these cap Flink's own pools. */
    static Configuration baseConfig() {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
        return conf;
    }

    /**
     * The newest completed checkpoint under {@code dir} (layout {@code <job-id>/chk-<n>/_metadata}); a
     * checkpoint directory without _metadata was interrupted and is skipped.
     */
    static Optional<Path> latestCheckpoint(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        List<Path> metas = new ArrayList<>();
        try (Stream<Path> s = Files.find(dir, 3, (p, a) -> a.isRegularFile()
                && p.getFileName().toString().equals("_metadata")
                && p.getParent().getFileName().toString().startsWith("chk-"))) {
            s.forEach(metas::add);
        }
        Path best = null;
        long bestTime = Long.MIN_VALUE;
        long bestN = -1;
        for (Path m : metas) {
            long t = Files.getLastModifiedTime(m).toMillis();
            long n;
            try {
                n = Long.parseLong(m.getParent().getFileName().toString().substring(4));
            } catch (NumberFormatException e) {
                continue;
            }
            if (t > bestTime || (t == bestTime && n > bestN)) {
                best = m.getParent();
                bestTime = t;
                bestN = n;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * Each start is a new Flink job with its own checkpoint sub-directory; the run being restored from stays,
     * directories of runs before it go, so restarts do not pile up retained checkpoints.
     */
    static void pruneOlderRuns(Path dir, Path keepJobDir) {
        try (Stream<Path> runs = Files.list(dir)) {
            for (Path run : (Iterable<Path>) runs::iterator) {
                String name = run.getFileName().toString();
                if (run.equals(keepJobDir) || !Files.isDirectory(run) || !name.matches("[0-9a-f]{32}")) {
                    continue;
                }
                if (Files.getLastModifiedTime(run).compareTo(Files.getLastModifiedTime(keepJobDir)) > 0) {
                    continue;
                }
                try (Stream<Path> files = Files.walk(run)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
                LOG.info("removed checkpoints of an earlier run: {}", run);
            }
        } catch (IOException e) {
            LOG.warn("could not prune old checkpoint directories in {}: {}", dir, e.toString());
        }
    }

    // ---- replay ------------------------------------------------------------------------------------

    /** Counts of a replay run, printed as JSON. */
    /**
     * Counts of a replay run, printed as JSON. {@code seconds} includes starting the local Flink cluster;
     * {@code jobSeconds} is the job's own run time, the basis of the throughput figure.
     */
    public record ReplaySummary(long records, long processed, long alerts, long deadLetters, double seconds,
            double jobSeconds) {
        String toJson() {
            return String.format(java.util.Locale.ROOT,
                    "{\"records\":%d,\"transactions_processed\":%d,\"alerts\":%d,\"dead_letters\":%d,"
                            + "\"seconds\":%.3f,\"job_seconds\":%.3f,\"records_per_second\":%.0f}",
                    records, processed, alerts, deadLetters, seconds, jobSeconds,
                    jobSeconds > 0 ? records / jobSeconds : 0.0);
        }
    }

    public static ReplaySummary replay(Path in, Path rulesFile, Path fxFile, Path outDir, Duration outOfOrderness,
            Duration stateTtl, int engineParallelism) throws Exception {
        Configuration conf = baseConfig();
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_PORT, "0");
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, engineParallelism);
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        conf.set(PipelineOptions.NAME, "finlake-replay");
        return replay(StreamExecutionEnvironment.createLocalEnvironment(1, conf), in, rulesFile, fxFile, outDir,
                outOfOrderness, stateTtl, engineParallelism);
    }

    /**
     * Replay on a given environment (tests pass a shared MiniCluster's). The file is read and validated with
     * parallelism 1 and a watermark after every record; the engine may run wider (keyed by account, each
     * subtask receives its records and the watermarks in file order, so the output is the same); the
     * three files are written by one writer each.
     */
    public static ReplaySummary replay(StreamExecutionEnvironment env, Path in, Path rulesFile, Path fxFile,
            Path outDir, Duration outOfOrderness, Duration stateTtl, int engineParallelism) throws Exception {
        if (!Files.isRegularFile(in)) {
            throw new IllegalArgumentException("replay input " + in + " is not a file");
        }
        List<RuleUpdate> updates = RuleParser.fromYaml(rulesFile, fxFile);
        Files.createDirectories(outDir);
        long start = System.nanoTime();
        env.setParallelism(1);
        // Streaming semantics on a bounded input: batch mode would sort by key and change what "late" means.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);

        Engine.LongSupplierSerializable clock = System::currentTimeMillis;
        FileSource<Parsed> file = FileSource.forRecordStreamFormat(new ReplayIO.LineFormat(),
                new org.apache.flink.core.fs.Path(in.toAbsolutePath().toUri())).build();
        var raw = env.fromSource(file, Watermarks.transactions(outOfOrderness, null, true), "replay-file")
                .uid("source-replay");
        List<RuleUpdate> broadcast = updates.isEmpty()
                ? List.of(new RuleUpdate("__none", null, 0, 0)) : updates;
        var ruleStream = env.fromData(broadcast, TypeInformation.of(RuleUpdate.class)).uid("source-rules-file");
        Pipeline.Result r = Pipeline.build(raw, ruleStream,
                new Engine(updates, Map.of(0, (long) updates.size()), stateTtl, clock), new Route(clock), true,
                engineParallelism);
        Path processed = outDir.resolve("transactions-processed.jsonl");
        Path alerts = outDir.resolve("alerts.jsonl");
        Path dead = outDir.resolve("dead-letter.jsonl");
        r.processed().sinkTo(new ReplayIO.JsonlSink(processed)).name("transactions-processed.jsonl").setParallelism(1);
        r.alerts().sinkTo(new ReplayIO.JsonlSink(alerts)).name("alerts.jsonl").setParallelism(1);
        r.deadLetters().sinkTo(new ReplayIO.JsonlSink(dead)).name("dead-letter.jsonl").setParallelism(1);
        JobExecutionResult result = env.execute("finlake-replay");

        double secs = (System.nanoTime() - start) / 1e9;
        long p = lines(processed);
        long d = lines(dead);
        // Every input record yields exactly one processed or dead-letter line.
        return new ReplaySummary(p + d, p, lines(alerts), d, secs,
                result.getNetRuntime(java.util.concurrent.TimeUnit.MILLISECONDS) / 1e3);
    }

    static long lines(Path p) throws IOException {
        if (!Files.exists(p)) {
            return 0;
        }
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(p)) {
            int k;
            while ((k = in.read(buf)) > 0) {
                for (int i = 0; i < k; i++) {
                    if (buf[i] == '\n') {
                        n++;
                    }
                }
            }
        }
        return n;
    }
}
