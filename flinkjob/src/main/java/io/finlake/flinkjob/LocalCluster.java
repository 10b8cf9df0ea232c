package io.finlake.flinkjob;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;

/** The Flink MiniCluster both jobs run in, inside this JVM: sized for a laptop, REST on loopback only. */
final class LocalCluster {
    private LocalCluster() {}

    /**
     * The heap is set with -Xmx on the java command; these cap Flink's own pools. State lives on the heap
     * (hashmap backend).
     */
    static Configuration config(String jobName, int taskSlots) {
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, taskSlots);
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(PipelineOptions.NAME, jobName);
        return conf;
    }
}
