package io.finlake.flinkjob;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
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
            // NO_CLAIM: the run restored from stays read-only, and the new run's first checkpoint is a full
            // one, so from then on its checkpoints reference files of its own directory only. CLAIM would
            // let them keep pointing into earlier runs' shared/ directories, which pruning deletes.
            conf.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.NO_CLAIM);
            pruneOlderRuns(dir, latest.get().getParent(), referencedRuns(dir, latest.get()));
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
     * The run directories under {@code dir} that hold a file the checkpoint {@code chk} references: with
     * incremental checkpoints its SST files may have been uploaded by earlier checkpoints, and after a
     * restore in CLAIM mode by earlier runs. Read from the checkpoint's own _metadata.
     */
    static Set<Path> referencedRuns(Path dir, Path chk) throws IOException {
        CheckpointMetadata meta;
        try (InputStream in = Files.newInputStream(chk.resolve("_metadata"))) {
            meta = org.apache.flink.runtime.checkpoint.Checkpoints.loadCheckpointMetadata(
                    new DataInputStream(in), Checkpoints.class.getClassLoader(), chk.toUri().toString());
        }
        Set<Path> files = new TreeSet<>();
        for (OperatorState op : meta.getOperatorStates()) {
            for (OperatorSubtaskState sub : op.getStates()) {
                for (KeyedStateHandle k : sub.getManagedKeyedState()) {
                    keyedFiles(k, files);
                }
                for (KeyedStateHandle k : sub.getRawKeyedState()) {
                    keyedFiles(k, files);
                }
                for (OperatorStateHandle o : sub.getManagedOperatorState()) {
                    file(o.getDelegateStateHandle(), files);
                }
                for (OperatorStateHandle o : sub.getRawOperatorState()) {
                    file(o.getDelegateStateHandle(), files);
                }
            }
        }
        Path root = dir.toAbsolutePath().normalize();
        Set<Path> runs = new TreeSet<>();
        for (Path f : files) {
            Path abs = f.toAbsolutePath().normalize();
            if (abs.startsWith(root) && abs.getNameCount() > root.getNameCount()) {
                runs.add(root.resolve(abs.getName(root.getNameCount())));
            }
        }
        return runs;
    }

    private static void keyedFiles(KeyedStateHandle k, Set<Path> out) {
        if (k instanceof IncrementalRemoteKeyedStateHandle inc) {
            inc.streamSubHandles().forEach(h -> file(h, out));
        } else if (k instanceof KeyGroupsStateHandle g) {
            file(g.getDelegateStateHandle(), out);
        } else if (k != null) {
            throw new IllegalStateException("checkpoint holds keyed state of an unexpected kind "
                    + k.getClass().getName() + ": cannot tell which files it needs, so nothing is pruned");
        }
    }

    private static void file(StreamStateHandle h, Set<Path> out) {
        if (h instanceof FileStateHandle f) {
            out.add(Path.of(f.getFilePath().toUri()));
        } // anything else is inline bytes in _metadata
    }

    /**
     * Each start is a new Flink job with its own checkpoint sub-directory; the run being restored from stays,
     * and so does any run holding a file its checkpoint references; directories of other runs before it
     * go, so restarts do not pile up retained checkpoints.
     */
    static void pruneOlderRuns(Path dir, Path keepJobDir, Set<Path> referenced) {
        try (Stream<Path> runs = Files.list(dir)) {
            for (Path run : (Iterable<Path>) runs::iterator) {
                String name = run.getFileName().toString();
                if (run.equals(keepJobDir) || !Files.isDirectory(run) || !name.matches("[0-9a-f]{32}")) {
                    continue;
                }
                if (referenced.contains(run.toAbsolutePath().normalize())) {
                    LOG.info("kept checkpoints of an earlier run: the restored checkpoint references {}", run);
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
