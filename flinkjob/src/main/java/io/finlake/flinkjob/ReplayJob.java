package io.finlake.flinkjob;

import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.io.ReplayIO;
import io.finlake.flinkjob.io.Watermarks;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.WallClock;
import io.finlake.flinkjob.rules.RuleParser;
import io.finlake.flinkjob.validate.Route;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The replay job (backtesting): a file of raw records through the streaming job's operators, the file order
 * being the arrival order, into three JSON Lines files, with the rules and FX table from YAML files.
 */
public final class ReplayJob {
    private ReplayJob() {}

    /**
     * Counts of a replay run, printed as JSON. {@code seconds} includes starting the local Flink cluster;
     * {@code jobSeconds} is the job's own run time, the basis of the throughput figure.
     */
    public record Summary(long records, long processed, long alerts, long deadLetters, double seconds,
            double jobSeconds) {
        String toJson() {
            return String.format(Locale.ROOT,
                    "{\"records\":%d,\"transactions_processed\":%d,\"alerts\":%d,\"dead_letters\":%d,"
                            + "\"seconds\":%.3f,\"job_seconds\":%.3f,\"records_per_second\":%.0f}",
                    records, processed, alerts, deadLetters, seconds, jobSeconds,
                    jobSeconds > 0 ? records / jobSeconds : 0.0);
        }
    }

    /** Replay on a local cluster of its own in this JVM; its REST port is any free one. */
    public static Summary run(Path in, Path rulesFile, Path fxFile, Path outDir, Duration outOfOrderness,
            Duration stateTtl, int engineParallelism) throws Exception {
        Configuration conf = LocalCluster.config("finlake-replay", engineParallelism, "hashmap");
        conf.set(RestOptions.BIND_PORT, "0");
        return run(StreamExecutionEnvironment.createLocalEnvironment(1, conf), in, rulesFile, fxFile, outDir,
                outOfOrderness, stateTtl, engineParallelism);
    }

    /**
     * Replay on a given environment (tests pass a shared MiniCluster's). The file is read and validated with
     * parallelism 1 and a watermark after every record; the engine may run wider (keyed by account, each
     * subtask receives its records and the watermarks in file order, so the output is the same); the
     * three files are written by one writer each.
     */
    public static Summary run(StreamExecutionEnvironment env, Path in, Path rulesFile, Path fxFile,
            Path outDir, Duration outOfOrderness, Duration stateTtl, int engineParallelism) throws Exception {
        if (!Files.isRegularFile(in)) {
            throw new IllegalArgumentException("replay input " + in + " is not a file");
        }
        List<RuleUpdate> updates = RuleParser.fromYaml(rulesFile, fxFile);
        Files.createDirectories(outDir);
        long start = System.nanoTime();
        env.setParallelism(1);
        // No defensive copy between chained operators (reader → validate, engine → its outputs): none of
        // them keeps a reference to its input past the call, and the engine, which keeps transactions in
        // state, is behind a keyed exchange that deserializes a fresh object per record.
        env.getConfig().enableObjectReuse();
        // Streaming semantics on a bounded input: batch mode would sort by key and change what "late" means.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);

        WallClock clock = System::currentTimeMillis;
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
        return new Summary(p + d, p, lines(alerts), d, secs, result.getNetRuntime(TimeUnit.MILLISECONDS) / 1e3);
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
