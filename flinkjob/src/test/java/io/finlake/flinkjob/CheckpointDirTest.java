package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Choosing the checkpoint to resume from, and pruning the directories of earlier runs. */
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

        Checkpoints.pruneOlderRuns(dir, want.getParent(), java.util.Set.of());
        assertThat(dir.resolve(oldRun)).doesNotExist();
        assertThat(want.resolve("_metadata")).exists();
    }

    @Test
    void aRunHoldingFilesTheRestoredCheckpointReferencesIsKept() throws Exception {
        String shared = "c".repeat(32);
        String unrelated = "d".repeat(32);
        checkpoint(shared, 5, true, "2026-11-26T09:00:00Z");
        checkpoint(unrelated, 2, true, "2026-11-26T09:30:00Z");
        Path want = checkpoint("e".repeat(32), 1, true, "2026-11-26T10:00:00Z");

        Checkpoints.pruneOlderRuns(dir, want.getParent(), java.util.Set.of(dir.resolve(shared).toAbsolutePath()));
        assertThat(dir.resolve(shared)).as("referenced by the restored checkpoint").exists();
        assertThat(dir.resolve(unrelated)).doesNotExist();
    }

    @Test
    void emptyDirectoryMeansAFreshStart() throws Exception {
        assertThat(Checkpoints.latest(dir)).isEmpty();
        assertThat(Checkpoints.latest(dir.resolve("missing"))).isEmpty();
    }
}
