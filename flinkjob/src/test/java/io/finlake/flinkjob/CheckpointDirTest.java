package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.io.DataOutputStream;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeOffsets;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.changelog.ChangelogStateBackendHandle;
import org.apache.flink.runtime.state.changelog.ChangelogStateHandleStreamImpl;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Choosing the checkpoint to resume from, and pruning what it does not reference. */
class CheckpointDirTest {
    @TempDir
    Path dir;

    private Path checkpoint(String job, int n, boolean complete, String at) throws Exception {
        Path chk = Files.createDirectories(dir.resolve(job).resolve("chk-" + n));
        if (complete) {
            Path meta = Files.writeString(chk.resolve("_metadata"), "x");
            Files.setLastModifiedTime(meta, FileTime.from(Instant.parse(at)));
        }
        Files.setLastModifiedTime(dir.resolve(job), FileTime.from(Instant.parse(at)));
        return chk;
    }

    @Test
    void resumesFromTheNewestCompletedCheckpointAcrossRuns() throws Exception {
        String oldRun = "a".repeat(32);
        String newRun = "b".repeat(32);
        checkpoint(oldRun, 7, true, "2026-11-26T10:00:00Z");
        Path want = checkpoint(newRun, 3, true, "2026-11-26T11:00:00Z");
        checkpoint(newRun, 4, false, "2026-11-26T11:00:02Z"); // interrupted: no _metadata
        assertThat(Checkpoints.latest(dir)).contains(want);

        Checkpoints.prune(dir, want, Set.of());
        assertThat(dir.resolve(oldRun)).doesNotExist();
        assertThat(want.resolve("_metadata")).exists();
    }

    @Test
    void aRunHoldingFilesTheRestoredCheckpointReferencesKeepsThoseFilesOnly() throws Exception {
        String shared = "c".repeat(32);
        String unrelated = "d".repeat(32);
        checkpoint(shared, 5, true, "2026-11-26T09:00:00Z");
        Path sst = file(shared + "/shared/sst-1");
        Path orphanChangelog = file(shared + "/dstl/written-after-its-last-checkpoint");
        checkpoint(unrelated, 2, true, "2026-11-26T09:30:00Z");
        Path want = checkpoint("e".repeat(32), 1, true, "2026-11-26T10:00:00Z");

        Checkpoints.prune(dir, want, Set.of(sst.toAbsolutePath()));
        assertThat(sst).as("referenced by the restored checkpoint").exists();
        assertThat(orphanChangelog).doesNotExist();
        assertThat(dir.resolve(shared).resolve("chk-5")).as("a checkpoint not restored from").doesNotExist();
        assertThat(dir.resolve(unrelated)).doesNotExist();
    }

    @Test
    void theRestoredRunLosesItsOtherCheckpointsAndUnreferencedFilesButNotTheRestoredOne() throws Exception {
        String run = "f".repeat(32);
        checkpoint(run, 8, true, "2026-11-26T10:00:00Z");
        Path older = file(run + "/chk-8/op-state");
        Path want = checkpoint(run, 9, true, "2026-11-26T10:00:01Z");
        Path wantState = file(run + "/chk-9/op-state");
        Path changelog = file(run + "/dstl/in-use");
        Path leftover = file(run + "/dstl/after-the-kill");
        Path compactedAway = file(run + "/shared/sst-old");

        Checkpoints.prune(dir, want, Set.of(changelog.toAbsolutePath()));
        assertThat(want.resolve("_metadata")).exists();
        assertThat(wantState).exists();
        assertThat(changelog).exists();
        assertThat(older).doesNotExist();
        assertThat(dir.resolve(run).resolve("chk-8")).doesNotExist();
        assertThat(leftover).doesNotExist();
        assertThat(compactedAway).doesNotExist();
    }

    @Test
    void theFilesOfAChangelogCheckpointAreItsMaterializedStateAndItsChangelog() throws Exception {
        Path chk = Files.createDirectories(dir.resolve("a".repeat(32)).resolve("chk-3"));
        Path materialized = file("b".repeat(32) + "/shared/materialized");
        Path log1 = file("b".repeat(32) + "/dstl/log-1");
        Path log2 = file("a".repeat(32) + "/dstl/log-2");
        KeyGroupRange range = KeyGroupRange.of(0, 127);
        var handle = new ChangelogStateBackendHandle.ChangelogStateBackendHandleImpl(
                List.of(new KeyGroupsStateHandle(new KeyGroupRangeOffsets(range), fileHandle(materialized))),
                List.of(new ChangelogStateHandleStreamImpl(
                        List.of(Tuple2.of(fileHandle(log1), 0L), Tuple2.of(fileHandle(log2), 10L)), range, 20, 20,
                        "filesystem")),
                range, 3, 1, 20);
        OperatorState op = new OperatorState("engine", "engine", new OperatorID(), 1, 128);
        op.putState(0, OperatorSubtaskState.builder().setManagedKeyedState(handle).build());
        try (var out = new DataOutputStream(Files.newOutputStream(chk.resolve("_metadata")))) {
            org.apache.flink.runtime.checkpoint.Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(3, List.of(op), List.of()), out);
        }

        Checkpoints.Referenced ref = Checkpoints.referenced(chk);
        assertThat(ref.changelog()).isTrue();
        assertThat(ref.files()).contains(materialized.toAbsolutePath(), log1.toAbsolutePath(), log2.toAbsolutePath());
        assertThat(Checkpoints.runsOf(dir, ref.files()))
                .containsExactlyInAnyOrder(dir.resolve("a".repeat(32)).toAbsolutePath(),
                        dir.resolve("b".repeat(32)).toAbsolutePath());
    }

    private Path file(String rel) throws Exception {
        Path p = dir.resolve(rel);
        Files.createDirectories(p.getParent());
        return Files.writeString(p, "x");
    }

    private static FileStateHandle fileHandle(Path p) {
        return new FileStateHandle(new org.apache.flink.core.fs.Path(p.toUri()), 1);
    }

    @Test
    void emptyDirectoryMeansAFreshStart() throws Exception {
        assertThat(Checkpoints.latest(dir)).isEmpty();
        assertThat(Checkpoints.latest(dir.resolve("missing"))).isEmpty();
    }
}
