package io.finlake.flinkjob;

import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.io.KafkaIO;
import io.finlake.flinkjob.io.Watermarks;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.WallClock;
import io.finlake.flinkjob.validate.Route;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.changelog.fs.FsStateChangelogOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming job: raw-transactions and alert-rules from Kafka through the shared operators to the three
 * exactly-once Kafka sinks, resuming from its newest checkpoint. Runs until the JVM is stopped.
 */
final class StreamingJob {
    private static final Logger LOG = LoggerFactory.getLogger(StreamingJob.class);

    private StreamingJob() {}

    static void run(Options o) throws Exception {
        Configuration conf = LocalCluster.config("finlake-flinkjob", o.parallelism, o.stateBackend);
        if (!o.stateBackend.equals("hashmap")) {
            conf.set(RocksDBOptions.LOCAL_DIRECTORIES, rocksdbWorkingDir(o.checkpointDir).toString());
        }
        // Changelog files go under the checkpoint directory (as <job-id>/dstl/, beside that run's
        // checkpoints), so pruning a run removes its changelog too. Set whatever the backend: restoring a
        // checkpoint the changelog backend took reads its changelog through this storage as well.
        conf.set(FsStateChangelogOptions.BASE_PATH, o.checkpointDir.toAbsolutePath().toUri().toString());
        o.flinkConf.forEach(conf::setString);
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, o.restPort);
        conf.set(RestOptions.BIND_PORT, Integer.toString(o.restPort));
        // Records reach the sinks sooner; they become visible at the next checkpoint commit.
        conf.set(ExecutionOptions.BUFFER_TIMEOUT, Duration.ofMillis(20));
        Checkpoints.configure(conf, o.checkpointDir, o.checkpointInterval, o.stateBackend.equals("changelog"));

        KafkaIO.Snapshot rules = KafkaIO.readRules(o.bootstrap, Duration.ofSeconds(60));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(o.parallelism);
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);

        WallClock clock = System::currentTimeMillis;
        var raw = env.fromSource(KafkaIO.rawSource(o.bootstrap),
                        Watermarks.transactions(o.outOfOrderness, o.idleness, o.maxDrift), "raw-transactions")
                .uid("source-raw-transactions");
        var ruleStream = env.fromSource(KafkaIO.rulesSource(o.bootstrap), WatermarkStrategy.<RuleUpdate>noWatermarks(),
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

    /**
     * RocksDB's working copy of the state, next to the checkpoints rather than in /tmp: a killed JVM leaves
     * it behind, and a start rebuilds it from the checkpoint, so it is emptied here first.
     */
    static Path rocksdbWorkingDir(Path checkpointDir) throws IOException {
        Path dir = checkpointDir.toAbsolutePath().resolveSibling(checkpointDir.getFileName() + ".rocksdb");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
            }
        }
        return Files.createDirectories(dir);
    }
}
