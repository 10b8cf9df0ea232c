package io.finlake.flinkjob;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming job's checkpoints in {@code --checkpoint-dir}: how they are taken and retained, and which
 * one a start resumes from, so that a killed JVM loses nothing.
 */
final class Checkpoints {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);

    private Checkpoints() {}

    /**
     * Exactly-once checkpoints every {@code interval} into {@code dir}, retained on cancellation, and a
     * resume from the newest completed one there (pruning the runs before it), if any.
     */
    static void configure(Configuration conf, Path dir, Duration interval) throws IOException {
        Files.createDirectories(dir);
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toAbsolutePath().toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, interval);
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 2);
        conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, Duration.ofMinutes(2));
        conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, 10);
        Optional<Path> latest = latest(dir);
        if (latest.isPresent()) {
            LOG.info("resuming from checkpoint {}", latest.get());
            pruneOlderRuns(dir, latest.get().getParent());
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, latest.get().toUri().toString());
        } else {
            LOG.info("no completed checkpoint in {}: starting fresh", dir);
        }
    }

    /**
     * The newest completed checkpoint under {@code dir} (layout {@code <job-id>/chk-<n>/_metadata}); a
     * checkpoint directory without _metadata was interrupted and is skipped.
     */
    static Optional<Path> latest(Path dir) throws IOException {
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
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
                LOG.info("removed checkpoints of an earlier run: {}", run);
            }
        } catch (IOException e) {
            LOG.warn("could not prune old checkpoint directories in {}: {}", dir, e.toString());
        }
    }
}
