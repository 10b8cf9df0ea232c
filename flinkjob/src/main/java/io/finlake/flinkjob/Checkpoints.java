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
import org.apache.flink.runtime.state.InputStateHandle;
import org.apache.flink.runtime.state.OutputStateHandle;
import org.apache.flink.runtime.state.AbstractChannelStateHandle;
import org.apache.flink.runtime.state.AbstractMergedChannelStateHandle;
import org.apache.flink.runtime.state.changelog.ChangelogStateBackendHandle;
import org.apache.flink.runtime.state.changelog.ChangelogStateHandle;
import org.apache.flink.runtime.state.changelog.ChangelogStateHandleStreamImpl;
import org.apache.flink.runtime.state.changelog.inmemory.InMemoryChangelogStateHandle;
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
     * resume from the newest completed one there (pruning what it does not need), if any.
     *
     * @param changelog whether the new run uses the changelog state backend
     */
    static void configure(Configuration conf, Path dir, Duration interval, boolean changelog) throws IOException {
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
            Referenced ref = referenced(latest.get());
            // NO_CLAIM (RocksDB alone): the run restored from stays read-only, and the new run's first
            // checkpoint is a full one, so from then on its checkpoints reference files of its own directory
            // only. The changelog backend restores only in CLAIM mode: the new run takes the restored
            // checkpoint over, keeps appending to its changelog and referencing its SST files (so earlier
            // runs stay while referenced, see prune), and Flink deletes them once no checkpoint needs them.
            conf.set(StateRecoveryOptions.RESTORE_MODE,
                    changelog || ref.changelog() ? RecoveryClaimMode.CLAIM : RecoveryClaimMode.NO_CLAIM);
            prune(dir, latest.get(), ref.files());
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
     * The files a checkpoint needs, read from its _metadata: with incremental checkpoints its SST files may
     * have been uploaded by earlier checkpoints, and after a restore in CLAIM mode by earlier runs; with
     * the changelog backend, also the changelog files since its last materialization. {@code changelog}
     * tells whether it was taken by the changelog backend.
     */
    record Referenced(Set<Path> files, boolean changelog) {}

    static Referenced referenced(Path chk) throws IOException {
        CheckpointMetadata meta;
        try (InputStream in = Files.newInputStream(chk.resolve("_metadata"))) {
            meta = org.apache.flink.runtime.checkpoint.Checkpoints.loadCheckpointMetadata(
                    new DataInputStream(in), Checkpoints.class.getClassLoader(), chk.toUri().toString());
        }
        Set<Path> files = new TreeSet<>();
        boolean[] changelog = {false};
        files.add(chk.resolve("_metadata").toAbsolutePath().normalize());
        for (OperatorState op : meta.getOperatorStates()) {
            for (OperatorSubtaskState sub : op.getStates()) {
                for (KeyedStateHandle k : sub.getManagedKeyedState()) {
                    keyedFiles(k, files, changelog);
                }
                for (KeyedStateHandle k : sub.getRawKeyedState()) {
                    keyedFiles(k, files, changelog);
                }
                for (OperatorStateHandle o : sub.getManagedOperatorState()) {
                    file(o.getDelegateStateHandle(), files);
                }
                for (OperatorStateHandle o : sub.getRawOperatorState()) {
                    file(o.getDelegateStateHandle(), files);
                }
                for (InputStateHandle c : sub.getInputChannelState()) {
                    channelFile(c, files);
                }
                for (OutputStateHandle c : sub.getResultSubpartitionState()) {
                    channelFile(c, files);
                }
            }
        }
        return new Referenced(files, changelog[0]);
    }

    /** The run directories (job ids) under {@code dir} that hold one of {@code files}. */
    static Set<Path> runsOf(Path dir, Set<Path> files) {
        Path root = dir.toAbsolutePath().normalize();
        Set<Path> runs = new TreeSet<>();
        for (Path f : files) {
            Path abs = f.toAbsolutePath().normalize();
            if (abs.startsWith(root) && abs.getNameCount() > root.getNameCount() + 1) {
                runs.add(root.resolve(abs.getName(root.getNameCount())));
            }
        }
        return runs;
    }

    private static void keyedFiles(KeyedStateHandle k, Set<Path> out, boolean[] changelog) {
        if (k instanceof IncrementalRemoteKeyedStateHandle inc) {
            inc.streamSubHandles().forEach(h -> file(h, out));
        } else if (k instanceof KeyGroupsStateHandle g) {
            file(g.getDelegateStateHandle(), out);
        } else if (k instanceof ChangelogStateBackendHandle c) {
            changelog[0] = true;
            for (KeyedStateHandle m : c.getMaterializedStateHandles()) {
                keyedFiles(m, out, changelog);
            }
            for (ChangelogStateHandle n : c.getNonMaterializedStateHandles()) {
                if (n instanceof ChangelogStateHandleStreamImpl stream) {
                    stream.getHandlesAndOffsets().forEach(h -> file(h.f0, out));
                } else if (!(n instanceof InMemoryChangelogStateHandle)) {
                    throw unexpected(n);
                }
            }
        } else if (k != null) {
            throw unexpected(k);
        }
    }

    private static IllegalStateException unexpected(Object handle) {
        return new IllegalStateException("checkpoint holds keyed state of an unexpected kind "
                + handle.getClass().getName() + ": cannot tell which files it needs, so nothing is pruned");
    }

    private static void channelFile(Object h, Set<Path> out) {
        if (h instanceof AbstractChannelStateHandle<?> c) {
            file(c.getDelegate(), out);
        } else if (h instanceof AbstractMergedChannelStateHandle<?, ?> m) {
            file(m.getDelegate(), out);
        } else if (h != null) {
            throw unexpected(h);
        }
    }

    private static void file(StreamStateHandle h, Set<Path> out) {
        if (h instanceof FileStateHandle f) {
            out.add(Path.of(f.getFilePath().toUri()).toAbsolutePath().normalize());
        } // anything else is inline bytes in _metadata
    }

    /**
     * Before a start from {@code restored}: each start is a new Flink job with its own run directory
     * (checkpoints, shared SST files, taskowned files, and the changelog under dstl/), and the only
     * checkpoint a start ever needs is the one it restores. So every file of an earlier run that
     * {@code restored} does not reference goes: runs it references nothing of entirely; in the others
     * (its own run, and runs it still references in CLAIM mode) their other retained checkpoints, SST
     * files no longer referenced, and changelog files a killed run wrote after its last completed
     * checkpoint, which no checkpoint will ever reference and Flink never deletes. Disk therefore does not
     * grow over restarts. Unreferenced run directories newer than the restored one's are left alone.
     */
    static void prune(Path dir, Path restored, Set<Path> referenced) {
        Path keepChk = restored.toAbsolutePath().normalize();
        Path keepRun = keepChk.getParent();
        Set<Path> referencedRuns = runsOf(dir, referenced);
        long[] removed = {0, 0};
        try (Stream<Path> runs = Files.list(dir)) {
            for (Path run : (Iterable<Path>) runs::iterator) {
                Path abs = run.toAbsolutePath().normalize();
                String name = run.getFileName().toString();
                if (!Files.isDirectory(run) || !name.matches("[0-9a-f]{32}")) {
                    continue;
                }
                boolean needed = abs.equals(keepRun) || referencedRuns.contains(abs);
                if (!needed && Files.getLastModifiedTime(run).compareTo(Files.getLastModifiedTime(keepRun)) > 0) {
                    continue;
                }
                if (!needed) {
                    deleteTree(run);
                    LOG.info("removed checkpoints of an earlier run: {}", run);
                    continue;
                }
                List<Path> unreferenced = new ArrayList<>();
                try (Stream<Path> files = Files.walk(run)) {
                    files.filter(Files::isRegularFile)
                            .map(p -> p.toAbsolutePath().normalize())
                            .filter(p -> !referenced.contains(p) && !p.startsWith(keepChk))
                            .forEach(unreferenced::add);
                }
                for (Path p : unreferenced) {
                    long size = Files.size(p);
                    Files.delete(p);
                    removed[0]++;
                    removed[1] += size;
                }
                removeEmptyDirs(run);
            }
        } catch (IOException e) {
            LOG.warn("could not prune old checkpoint files in {}: {}", dir, e.toString());
        }
        if (removed[0] > 0) {
            LOG.info("removed {} files ({} bytes) the restored checkpoint {} does not reference", removed[0],
                    removed[1], restored);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> files = Files.walk(p)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** Empty chk-N directories of deleted checkpoints; the run's own top-level layout stays. */
    private static void removeEmptyDirs(Path run) throws IOException {
        try (Stream<Path> dirs = Files.list(run)) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                if (Files.isDirectory(d) && d.getFileName().toString().startsWith("chk-")) {
                    try (Stream<Path> in = Files.list(d)) {
                        if (in.findAny().isEmpty()) {
                            Files.delete(d);
                        }
                    }
                }
            }
        }
    }
}
