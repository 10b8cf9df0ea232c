package io.finlake.flinkjob;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateChangelogOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.state.rocksdb.ConfigurableRocksDBOptionsFactory;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend.PriorityQueueStateType;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.state.rocksdb.RocksDBNativeMetricOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.state.rocksdb.RocksDBOptionsFactory;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
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
    /**
     * How often the changelog backend checkpoints RocksDB itself (an incremental RocksDB checkpoint, after
     * which the changelog before it is dropped): between materializations a checkpoint only appends the
     * state changes since the last one. Longer means fewer memtable flushes and compactions, but more
     * changelog to replay on restore and more changelog files listed in every checkpoint's _metadata.
     */
    static final Duration MATERIALIZE_INTERVAL = Duration.ofMinutes(3);

    /** The --state-backend values: {@code changelog} is RocksDB with the changelog in front of it. */
    static final List<String> BACKENDS = List.of("rocksdb", "changelog", "hashmap");

    private LocalCluster() {}

    /**
     * The heap is set with -Xmx on the java command; these cap Flink's own pools.
     *
     * @param stateBackend {@code changelog}: RocksDB as below, but a checkpoint appends the state changes
     *     since the previous one to a changelog file in the checkpoint directory, and RocksDB itself is
     *     checkpointed (materialized) every {@link #MATERIALIZE_INTERVAL} only; {@code rocksdb}: keyed state
     *     and timers in embedded RocksDB, checkpointed incrementally (each checkpoint flushes the memtables
     *     and uploads the SST files new since the last one); {@code hashmap}: state on the heap, written in
     *     full at every checkpoint (replay, which takes no checkpoints)
     */
    static Configuration config(String jobName, int taskSlots, String stateBackend) {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, taskSlots);
        conf.set(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT);
        switch (stateBackend) {
            case "hashmap" -> {
                conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
                conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
            }
            case "rocksdb" -> rocksdb(conf);
            case "changelog" -> {
                rocksdb(conf);
                conf.set(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG, true);
                // The changelog goes to files (dstl.dfs.base-path, set with the checkpoint directory), not
                // to the JobManager's memory, which is lost with the JVM.
                conf.set(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE, "filesystem");
                conf.set(StateChangelogOptions.PERIODIC_MATERIALIZATION_INTERVAL, MATERIALIZE_INTERVAL);
            }
            default -> throw new IllegalArgumentException(
                    "--state-backend " + stateBackend + ": use one of " + String.join(", ", BACKENDS));
        }
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(PipelineOptions.NAME, jobName);
        return conf;
    }

    private static void rocksdb(Configuration conf) {
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
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
        // Universal compaction leaves up to max_size_amplification_percent (200 %) of dead versions and
        // tombstones in the files until a full compaction, so the checkpointed size swings up to 3x the
        // live state without any growth; RocksDB's own estimate of the live bytes is what shows a leak.
        conf.set(RocksDBNativeMetricOptions.ESTIMATE_LIVE_DATA_SIZE, true);
        conf.set(RocksDBNativeMetricOptions.MONITOR_TOTAL_SST_FILES_SIZE, true);
        conf.set(RocksDBOptions.OPTIONS_FACTORY, QuietRocksDB.class.getName());
    }

    /**
     * RocksDB options Flink has no key for, chosen by what a 1 s incremental checkpoint costs on disk
     * (bench/flink-state.sh, SPLIT=1):
     * <ul>
     *   <li>Every checkpoint copies the MANIFEST (the log of every flush and compaction since the database
     *       was opened) into the checkpoint and uploads it again: left to grow to RocksDB's 1 GB default it
     *       was ~95 KB per subtask after two simulated hours, a third of all the bytes the JVM wrote. Capped,
     *       RocksDB starts a new MANIFEST holding only the current file list whenever it passes the cap.
     *   <li>Every checkpoint also flushes the memtables into a small new file, and compacting after 4 of
     *       them (RocksDB's default, kept) merges and re-uploads the same bytes 10-20 times. After 32 the
     *       JVM wrote 3.5× less at 10 tx/s, but at the short soak's ~1,650 tx/s the uncompacted files made
     *       the checkpointed state swing 12-78 MB and the soak judged it growing, so it is an option
     *       ({@code finlake.rocksdb.l0-compaction-trigger}); the write slowdown and stop triggers move up
     *       with it, so the extra files never throttle writes.
     * </ul>
     */
    public static final class QuietRocksDB implements ConfigurableRocksDBOptionsFactory {
        private static final long serialVersionUID = 1L;
        static final ConfigOption<MemorySize> MAX_MANIFEST = ConfigOptions.key("finlake.rocksdb.max-manifest-size")
                .memoryType().defaultValue(MemorySize.parse("16kb"))
                .withDescription("RocksDB max_manifest_file_size: the MANIFEST is copied at every checkpoint");
        static final ConfigOption<Integer> L0_TRIGGER = ConfigOptions.key("finlake.rocksdb.l0-compaction-trigger")
                .intType().defaultValue(4)
                .withDescription("RocksDB level0_file_num_compaction_trigger: flushed files before a compaction");
        private long maxManifest = MAX_MANIFEST.defaultValue().getBytes();
        private int l0Trigger = L0_TRIGGER.defaultValue();

        @Override
        public RocksDBOptionsFactory configure(ReadableConfig conf) {
            maxManifest = conf.get(MAX_MANIFEST).getBytes();
            l0Trigger = conf.get(L0_TRIGGER);
            return this;
        }

        @Override
        public DBOptions createDBOptions(DBOptions current, Collection<AutoCloseable> handles) {
            return current.setMaxManifestFileSize(maxManifest);
        }

        @Override
        public ColumnFamilyOptions createColumnOptions(ColumnFamilyOptions current, Collection<AutoCloseable> handles) {
            return current.setLevel0FileNumCompactionTrigger(l0Trigger)
                    .setLevel0SlowdownWritesTrigger(Math.max(current.level0SlowdownWritesTrigger(), l0Trigger + 16))
                    .setLevel0StopWritesTrigger(Math.max(current.level0StopWritesTrigger(), l0Trigger + 32));
        }
    }
}
