package io.finlake.flinkjob;

import org.apache.flink.configuration.CheckpointingOptions;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend.PriorityQueueStateType;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.rocksdb.CompactionStyle;
import org.rocksdb.InfoLogLevel;

/** The Flink MiniCluster both jobs run in, inside this JVM: sized for a laptop, REST on loopback only. */
final class LocalCluster {
    /**
     * JobManager, ResourceManager and TaskManager share this JVM, so a heartbeat between them can only time
     * out because the whole JVM stood still (a laptop asleep, {@code docker compose pause}, SIGSTOP). With
     * Flink's 50 s, the first tick after such a pause declares the TaskManager lost and fails every task
     * over while the old attempts are still running and committing, and the Kafka broker, frozen too, is
     * reloading its transaction coordinators. A JVM that really dies takes all three with it. Bounded
     * below Pekko's longest schedulable delay (about 248 days).
     */
    static final Duration HEARTBEAT_TIMEOUT = Duration.ofDays(30);

    /** RocksDB's block cache and memtables, in Flink's managed memory (native, outside the heap). */
    static final MemorySize ROCKSDB_MANAGED = MemorySize.parse("128m");

    private LocalCluster() {}

    /**
     * The heap is set with -Xmx on the java command; these cap Flink's own pools.
     *
     * @param stateBackend {@code rocksdb}: keyed state and timers in embedded RocksDB, checkpointed
     *     incrementally (only the SST files new since the last checkpoint are uploaded); {@code hashmap}:
     *     state on the heap, written in full at every checkpoint (replay, which takes no checkpoints)
     */
    static Configuration config(String jobName, int taskSlots, String stateBackend) {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, taskSlots);
        conf.set(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT);
        conf.set(StateBackendOptions.STATE_BACKEND, stateBackend);
        switch (stateBackend) {
            case "hashmap" -> conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
            case "rocksdb" -> rocksdb(conf);
            default -> throw new IllegalArgumentException("--state-backend " + stateBackend + ": use rocksdb or hashmap");
        }
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(PipelineOptions.NAME, jobName);
        return conf;
    }

    private static void rocksdb(Configuration conf) {
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, ROCKSDB_MANAGED);
        conf.set(RocksDBOptions.USE_MANAGED_MEMORY, true);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        // Timers in RocksDB too, so the heap holds no state that grows with accounts.
        conf.set(RocksDBOptions.TIMER_SERVICE_FACTORY, PriorityQueueStateType.ROCKSDB);
        // Every checkpoint flushes the memtables into small L0 files. Level compaction merges them into
        // L1, which with keys spread over the whole key space means rewriting all of L1 (the whole state)
        // every few checkpoints; universal compaction merges runs of similar size instead, so the bytes
        // written stay proportional to the bytes changed.
        conf.set(RocksDBConfigurableOptions.COMPACTION_STYLE, CompactionStyle.UNIVERSAL);
        conf.set(RocksDBConfigurableOptions.LOG_LEVEL, InfoLogLevel.WARN_LEVEL);
    }
}
