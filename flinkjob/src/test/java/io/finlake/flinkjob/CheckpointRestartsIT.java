package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job's checkpoint directory over many SIGKILLs and restarts with the changelog state backend
 * (the one whose restores are in CLAIM mode), materializing every few seconds so that restored runs stop being referenced between restarts:
 * what each killed run leaves behind (its other retained checkpoint, changelog files written after its
 * last completed checkpoint, SST files no checkpoint needs) must be removed, so the disk does not grow
 * with the number of restarts.
 */
class CheckpointRestartsIT {
    private static final int RESTARTS = 5;

    @TempDir
    Path tmp;

    private KafkaJob kafka;

    @AfterEach
    void stop() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void restartsAfterSigkillDoNotGrowTheCheckpointDirectory() throws Exception {
        assumeTrue(KafkaJob.available(), KafkaJob.SKIP);
        kafka = KafkaJob.startBroker(tmp);
        generate(8000, 1);
        Path ckpt = tmp.resolve("checkpoints");
        int rest = KafkaJob.freePort();
        Process job = start(ckpt, rest, "0");
        KafkaJob.awaitRest(rest, job);
        KafkaJob.settledEngineCounter(rest, "transactions");

        List<Long> bytes = new ArrayList<>();
        List<Long> files = new ArrayList<>();
        for (int i = 1; i <= RESTARTS; i++) {
            // A little input per run, so every run writes changelog and materializes.
            generate(200, 100 + i);
            Thread.sleep(4000);
            job.destroyForcibly().waitFor();
            job = start(ckpt, rest, Integer.toString(i));
            KafkaJob.awaitRest(rest, job);
            KafkaJob.settledEngineCounter(rest, "transactions");
            awaitNewCheckpoints(ckpt, job);
            bytes.add(size(ckpt));
            files.add(count(ckpt));
        }
        System.out.println("checkpoint directory after each restart: bytes " + bytes + ", files " + files
                + ", runs " + KafkaExactlyOnceIT.runs(ckpt).size());
        assertThat(KafkaExactlyOnceIT.runs(ckpt).size())
                .as("run directories: the live run and the runs its checkpoints still reference")
                .isLessThanOrEqualTo(3);
        assertThat(bytes.get(RESTARTS - 1)).as("bytes after the last restart vs the second, %s", bytes)
                .isLessThanOrEqualTo(bytes.get(1) * 5 / 4 + 256 * 1024);
        assertThat(files.get(RESTARTS - 1)).as("files after the last restart vs the second, %s", files)
                .isLessThanOrEqualTo(files.get(1) * 5 / 4 + 20);
    }

    private Process start(Path ckpt, int rest, String name) throws IOException {
        return kafka.startJob(ckpt, rest, name, "--state-backend", "changelog", "--flink",
                "state.changelog.periodic-materialize.interval=3s");
    }

    private void generate(int count, int seed) throws Exception {
        kafka.run(KafkaJob.BIN, "generate", "--brokers", kafka.bootstrap, "--count", Integer.toString(count), "--seed",
                Integer.toString(seed), "--rate", "max", "--http", "off", "--progress=false");
    }

    /** Two checkpoints completed by the new run (its own chk-N with _metadata), then 5 s more. */
    private static void awaitNewCheckpoints(Path dir, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        long t0 = System.currentTimeMillis();
        while (true) {
            long done;
            try (Stream<Path> s = Files.find(dir, 3, (p, a) -> p.getFileName().toString().equals("_metadata")
                    && a.lastModifiedTime().toMillis() >= t0)) {
                done = s.count();
            }
            if (done >= 2) {
                Thread.sleep(5000);
                return;
            }
            assertThat(job.isAlive()).isTrue();
            assertThat(System.nanoTime()).as("checkpoints of the restarted run within 2 minutes").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static long size(Path dir) throws Exception {
        return walk(dir, s -> s.mapToLong(p -> p.toFile().length()).sum());
    }

    private static long count(Path dir) throws Exception {
        return walk(dir, Stream::count);
    }

    /** Over the regular files under dir, again if Flink deleted one while it was listed. */
    private static long walk(Path dir, java.util.function.ToLongFunction<Stream<Path>> f) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (Stream<Path> s = Files.walk(dir)) {
                return f.applyAsLong(s.filter(Files::isRegularFile));
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
                if (attempt == 10) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
