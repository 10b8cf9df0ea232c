package io.finlake.flinkjob;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.ArrayList;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

/** Runs the replay job on a shared Flink MiniCluster and reads its three output files. */
public final class ReplayHarness {
    private ReplayHarness() {}

    public static MiniClusterExtension miniCluster() {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setConfiguration(conf)
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(2)
                .build());
    }

    public record Output(List<JsonNode> processed, List<JsonNode> alerts, List<JsonNode> deadLetters,
            ReplayJob.Summary summary) {
        /**
         * Alerts as "transaction_id rule_name v<rule_version>", the identity a replay must reproduce: a sorted
         * list, not a set, so an alert raised twice counts twice.
         */
        public List<String> alertKeys() {
            List<String> s = new ArrayList<>();
            for (JsonNode a : alerts) {
                s.add(a.get("transaction_id").asText() + " " + a.get("rule_name").asText() + " v"
                        + a.get("rule_version").asLong());
            }
            s.sort(null);
            return s;
        }
    }

    public static Output replay(Path input, Path rules, Path fx, Path outDir) throws Exception {
        return replay(input, rules, fx, outDir, 2);
    }

    public static Output replay(Path input, Path rules, Path fx, Path outDir, int engineParallelism)
            throws Exception {
        ReplayJob.Summary s = ReplayJob.run(StreamExecutionEnvironment.getExecutionEnvironment(), input, rules, fx,
                outDir, Duration.ofSeconds(2), Duration.ofHours(48), engineParallelism);
        return new Output(Fixtures.readJsonl(outDir.resolve("transactions-processed.jsonl")),
                Fixtures.readJsonl(outDir.resolve("alerts.jsonl")),
                Fixtures.readJsonl(outDir.resolve("dead-letter.jsonl")), s);
    }
}
