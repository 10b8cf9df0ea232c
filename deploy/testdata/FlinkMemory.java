// Computes a Flink process's memory layout with Flink's own calculator, from
// the properties the compose file gives the container (one "key: value" a
// line, as the flink image's entrypoint reads FLINK_PROPERTIES). Flink
// refuses to start with settings this rejects. Run with the job's shaded jar
// on the classpath: java -cp finlake-flinkjob.jar FlinkMemory.java ROLE FILE
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

public class FlinkMemory {
    public static void main(String[] args) throws Exception {
        Configuration conf = new Configuration();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            int i = line.indexOf(':');
            if (i > 0) {
                conf.setString(line.substring(0, i).trim(), line.substring(i + 1).trim());
            }
        }
        if (args[0].equals("taskmanager")) {
            TaskExecutorProcessSpec s = TaskExecutorProcessUtils.processSpecFromConfig(conf);
            System.out.printf("process=%d heap=%d taskheap=%d%n", s.getTotalProcessMemorySize().getBytes(),
                    s.getJvmHeapMemorySize().getBytes(), s.getTaskHeapSize().getBytes());
            // What Flink's start scripts hand the JVM and the TaskManager.
            System.out.println("jvm=" + ProcessMemoryUtils.generateJvmParametersStr(s));
            System.out.println("dynamic=" + TaskExecutorProcessUtils.generateDynamicConfigsStr(s));
        } else {
            JobManagerProcessSpec s = JobManagerProcessUtils.processSpecFromConfig(conf);
            System.out.printf("process=%d heap=%d%n", s.getTotalProcessMemorySize().getBytes(),
                    s.getJvmHeapMemorySize().getBytes());
            System.out.println("jvm=" + JobManagerProcessUtils.generateJvmParametersStr(s, conf));
            System.out.println("dynamic=" + JobManagerProcessUtils.generateDynamicConfigsStr(s));
        }
    }
}
