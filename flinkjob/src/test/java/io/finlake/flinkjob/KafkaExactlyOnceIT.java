package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar against a real Kafka broker: generator output goes in (neighbours swapped within the
 * out-of-orderness bound, the replay reading the same order), the job is SIGKILLed in the middle
 * of the stream with checkpoints on and restarted from its retained checkpoint, killed and restarted once
 * more right after the restarted run's own (incremental) checkpoints, and read_committed
 * consumers must then see every valid event exactly once, the same alerts and dead letters as a replay of
 * the same input, and an alert for every injected scenario. Then a live generator run measures the
 * latency from raw record timestamp to alert visible to a read_committed consumer.
 */
class KafkaExactlyOnceIT {
    private static final int COUNT = 20_000;

    @TempDir
    static Path tmp;

    private static KafkaJob kafka;
    private static String bootstrap;

    @BeforeAll
    static void startBroker() throws Exception {
        if (!KafkaJob.available()) {
            System.out.println("SKIPPED KafkaExactlyOnceIT: " + KafkaJob.SKIP);
            return; // reported as a skipped test by requireLakectl
        }
        kafka = KafkaJob.startBroker(tmp);
        bootstrap = kafka.bootstrap;
    }

    @org.junit.jupiter.api.BeforeEach
    void requireLakectl() {
        assumeTrue(KafkaJob.available(), KafkaJob.SKIP);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void killedJobResumesFromItsCheckpointAndEveryValidEventIsSeenExactlyOnce() throws Exception {
        Path gen = tmp.resolve("gen.jsonl");
        Path labels = tmp.resolve("labels.jsonl");
        kafka.run(KafkaJob.BIN, "generate", "--count", Integer.toString(COUNT), "--seed", "20261126", "--output",
                gen.toString(), "--labels", labels.toString(), "--http", "off", "--fraud-rate", "0.02",
                "--malformed-rate", "0.005");
        List<byte[]> lines = new ArrayList<>();
        for (String l : Files.readAllLines(gen, StandardCharsets.ISO_8859_1)) {
            lines.add(l.getBytes(StandardCharsets.ISO_8859_1));
        }
        assertThat(lines).hasSize(COUNT);
        // Arrivals out of order within the bound, as a real producer's would be: both sides get this order.
        int swapped = Fixtures.swapNeighbours(lines, 1000, new Random(7));
        assertThat(swapped).as("neighbours swapped").isGreaterThan(COUNT / 10);
        Path shuffled = tmp.resolve("gen-shuffled.jsonl");
        try (var out = Files.newOutputStream(shuffled)) {
            for (byte[] l : lines) {
                out.write(l);
                out.write('\n');
            }
        }

        Path expectedDir = tmp.resolve("replay");
        kafka.replay(shuffled, expectedDir);
        List<JsonNode> expProcessed = Fixtures.readJsonl(expectedDir.resolve("transactions-processed.jsonl"));
        List<JsonNode> expAlerts = Fixtures.readJsonl(expectedDir.resolve("alerts.jsonl"));
        List<JsonNode> expDead = Fixtures.readJsonl(expectedDir.resolve("dead-letter.jsonl"));

        Path ckpt = tmp.resolve("checkpoints");
        int rest = KafkaJob.freePort();
        Process job = startJob(ckpt, rest, "first");
        KafkaJob.awaitRest(rest, job);
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            int killAt = COUNT * 2 / 5;
            produce(producer, lines, 0, killAt, 2000);
            // Let at least two checkpoints complete while records are in flight, then kill the JVM outright.
            awaitCheckpoints(ckpt, 2, job);
            produce(producer, lines, killAt, killAt + 2000, 2000);
            job.destroyForcibly().waitFor();
            Path firstRun = runOf(newestCheckpoint(ckpt));
            produce(producer, lines, killAt + 2000, COUNT * 3 / 5, 0);
            // Killed again right after its own checkpoints: the third start restores an incremental
            // checkpoint of a run that was itself restored, and prunes the first run's directory.
            Process again = startJob(ckpt, rest, "second");
            KafkaJob.awaitRest(rest, again);
            produce(producer, lines, COUNT * 3 / 5, COUNT * 7 / 10, 2000);
            awaitCheckpointOfAnotherRun(ckpt, firstRun, again);
            produce(producer, lines, COUNT * 7 / 10, COUNT * 7 / 10 + 1000, 2000);
            again.destroyForcibly().waitFor();
            produce(producer, lines, COUNT * 7 / 10 + 1000, COUNT * 4 / 5, 0);
            Path restored = newestCheckpoint(ckpt);
            Set<Path> needed = new TreeSet<>(Checkpoints.runsOf(ckpt, Checkpoints.referenced(restored).files()));
            needed.add(runOf(restored).toAbsolutePath().normalize());
            Set<Path> before = runs(ckpt);
            Process third = startJob(ckpt, rest, "third");
            KafkaJob.awaitRest(rest, third);
            // The changelog backend restores in CLAIM mode, so the second run's checkpoints may still
            // reference the first run's changelog and SST files: a run goes exactly when nothing needs it.
            Set<Path> after = runs(ckpt);
            after.retainAll(before); // not the third run's own
            assertThat(after).as("runs left by the third start: the restored one and those it references")
                    .isEqualTo(needed);
            assertThat(Files.exists(firstRun)).as("the first run kept exactly while referenced")
                    .isEqualTo(needed.contains(firstRun.toAbsolutePath().normalize()));
            produce(producer, lines, COUNT * 4 / 5, COUNT, 2000);
        }

        Map<String, Integer> processed = new HashMap<>();
        Map<String, Integer> alerts = new HashMap<>();
        int[] dead = {0};
        kafka.awaitTopic("transactions-processed", expProcessed.size(), r -> {
            JsonNode n = Fixtures.JSON.readTree(r.value());
            processed.merge(n.get("transaction_id").asText() + "/" + n.get("status").asText(), 1, Integer::sum);
        });
        kafka.awaitTopic("alerts", expAlerts.size(), r -> {
            JsonNode n = Fixtures.JSON.readTree(r.value());
            alerts.merge(n.get("transaction_id").asText() + " " + n.get("rule_name").asText(), 1, Integer::sum);
        });
        kafka.awaitTopic("dead-letter", expDead.size(), r -> dead[0]++);

        Map<String, Integer> wantProcessed = new HashMap<>();
        expProcessed.forEach(n -> wantProcessed.merge(
                n.get("transaction_id").asText() + "/" + n.get("status").asText(), 1, Integer::sum));
        Map<String, Integer> wantAlerts = new HashMap<>();
        expAlerts.forEach(n -> wantAlerts.merge(
                n.get("transaction_id").asText() + " " + n.get("rule_name").asText(), 1, Integer::sum));
        assertThat(processed).as("every valid event exactly once").isEqualTo(wantProcessed);
        assertThat(alerts).as("the alerts of a replay of the same input, each once").isEqualTo(wantAlerts);
        assertThat(dead[0]).as("dead letters").isEqualTo(expDead.size());
        int scenarios = 0;
        for (JsonNode l : Fixtures.readJsonl(labels)) {
            if ("scenario".equals(l.get("label").asText())) {
                scenarios++;
                assertThat(alerts).as("alert for %s", l)
                        .containsKey(l.get("transaction_id").asText() + " " + l.get("expected_rule").asText());
            }
        }
        assertThat(scenarios).isGreaterThan(20);

        measureLiveAlertLatency();
    }

    /** A live generator run (event time = wall clock): raw record timestamp → alert visible read_committed. */
    private void measureLiveAlertLatency() throws Exception {
        List<Long> latencies = new CopyOnWriteArrayList<>();
        Map<String, List<Long>> byRule = Collections.synchronizedMap(new TreeMap<>());
        AtomicBoolean stop = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            try (KafkaConsumer<byte[], byte[]> c = kafka.consumer()) {
                List<TopicPartition> tps = new ArrayList<>();
                for (var p : c.partitionsFor("alerts")) {
                    tps.add(new TopicPartition("alerts", p.partition()));
                }
                c.assign(tps);
                c.seekToEnd(tps);
                tps.forEach(c::position);
                long since = System.currentTimeMillis();
                while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
                        long now = System.currentTimeMillis();
                        if (r.timestamp() >= since) {
                            latencies.add(now - r.timestamp());
                            String rule = Fixtures.JSON.readTree(r.value()).get("rule_name").asText();
                            byRule.computeIfAbsent(rule, k -> new CopyOnWriteArrayList<>()).add(now - r.timestamp());
                        }
                    }
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        reader.start();
        Thread.sleep(1000);
        kafka.run(KafkaJob.BIN, "generate", "--brokers", bootstrap, "--rate", "200", "--duration", "25s", "--fraud-rate", "0.05",
                "--malformed-rate", "0", "--http", "off", "--progress=false");
        Thread.sleep(8000);
        stop.set(true);
        reader.join();
        assertThat(latencies).as("alerts from the live run").isNotEmpty();
        StringBuilder b = new StringBuilder("alert latency (raw record timestamp -> visible to read_committed), ")
                .append(summary(latencies));
        byRule.forEach((rule, l) -> b.append("\n  ").append(rule).append(": ").append(summary(l)));
        System.out.println(b);
        Files.writeString(Path.of("target", "alert-latency.txt"), b + "\n");
    }

    private static String summary(List<Long> l) {
        List<Long> s = new ArrayList<>(l);
        Collections.sort(s);
        return String.format(Locale.ROOT, "n=%d p50=%dms p95=%dms p99=%dms max=%dms", s.size(),
                s.get((int) (s.size() * 0.50)), s.get(Math.min(s.size() - 1, (int) (s.size() * 0.95))),
                s.get(Math.min(s.size() - 1, (int) (s.size() * 0.99))), s.get(s.size() - 1));
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** -Dfinlake.it.state-backend=changelog runs the job with that backend instead of the default. */
    private Process startJob(Path ckpt, int rest, String name) throws IOException {
        String backend = System.getProperty("finlake.it.state-backend", "");
        Process p = backend.isEmpty() ? kafka.startJob(ckpt, rest, name)
                : kafka.startJob(ckpt, rest, name, "--state-backend", backend);
        return p;
    }

    @org.junit.jupiter.api.AfterEach
    void stopJobs() throws Exception {
        if (kafka != null) {
            kafka.killJobs();
        }
    }
    private static void awaitCheckpoints(Path dir, int n, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            long done;
            try (var s = Files.find(dir, 3, (p, a) -> p.getFileName().toString().equals("_metadata"))) {
                done = s.count();
            }
            if (done >= Math.min(n, 2)) {
                // Retention keeps 2: wait for one more checkpoint after the count is reached.
                Thread.sleep(2500);
                return;
            }
            assertThat(job.isAlive()).isTrue();
            assertThat(System.nanoTime()).as("checkpoints within 2 minutes").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** The run (job id) directories in a checkpoint directory. */
    static Set<Path> runs(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{32}"))
                    .map(p -> p.toAbsolutePath().normalize())
                    .collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    private static Path newestCheckpoint(Path dir) throws IOException {
        return Checkpoints.latest(dir).orElseThrow(() -> new AssertionError("no completed checkpoint in " + dir));
    }

    /** The run (job id) directory a checkpoint directory belongs to. */
    private static Path runOf(Path chk) {
        return chk.getParent();
    }

    /** Waits for two completed checkpoints of a run other than {@code other}, then one interval more. */
    private static void awaitCheckpointOfAnotherRun(Path dir, Path other, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            long done;
            try (var s = Files.find(dir, 3, (p, a) -> p.getFileName().toString().equals("_metadata")
                    && !p.startsWith(other))) {
                done = s.count();
            }
            if (done >= 2) {
                Thread.sleep(1500);
                return;
            }
            assertThat(job.isAlive()).isTrue();
            assertThat(System.nanoTime()).as("checkpoints of the restarted run within 2 minutes").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static void produce(KafkaProducer<byte[], byte[]> p, List<byte[]> lines, int from, int to, int perSecond)
            throws Exception {
        long start = System.nanoTime();
        for (int i = from; i < to; i++) {
            byte[] v = lines.get(i);
            p.send(new ProducerRecord<>("raw-transactions", KafkaJob.keyOf(v), v));
            if (perSecond > 0) {
                long due = start + (long) ((i - from) * 1e9 / perSecond);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
        }
        p.flush();
    }
}
