package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the Kafka integration tests share: a real broker started by lakectl (FINLAKE_BIN) with the
 * contract's topics and the repository's rules, the job jar run as its own JVM, its REST API, and
 * read_committed consumers.
 */
final class KafkaJob {
    static final String BIN = System.getenv("FINLAKE_BIN");
    static final String SKIP =
            "FINLAKE_BIN is unset: the Kafka integration tests need lakectl (run `just test-flink`, which builds and sets it)";

    final Path tmp;
    final Process broker;
    final String bootstrap;
    private final List<Process> jobs = new ArrayList<>();

    private KafkaJob(Path tmp, Process broker, String bootstrap) {
        this.tmp = tmp;
        this.broker = broker;
        this.bootstrap = bootstrap;
    }

    static boolean available() {
        return BIN != null && !BIN.isBlank();
    }

    /** A broker on a free port with the topics created and config/rules.yaml + fx_rates.yaml applied. */
    static KafkaJob startBroker(Path tmp) throws Exception {
        assertThat(Path.of(BIN)).as("FINLAKE_BIN").isExecutable();
        Path ready = tmp.resolve("kafka.ready");
        Process broker = new ProcessBuilder(BIN, "kafka", "run", "--dir", tmp.resolve("kafka").toString(), "--port", "0",
                "--ready-file", ready.toString(), "--quiet")
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("kafka.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.exists(ready) || Files.readString(ready).isBlank()) {
            assertThat(broker.isAlive()).as("broker alive, see %s", tmp.resolve("kafka.log")).isTrue();
            assertThat(System.nanoTime()).as("broker ready within 3 minutes").isLessThan(deadline);
            Thread.sleep(200);
        }
        KafkaJob k = new KafkaJob(tmp, broker, Files.readString(ready).trim());
        k.run(BIN, "topics", "create", "--brokers", k.bootstrap);
        Path root = Fixtures.repoRoot();
        k.run(BIN, "rules", "apply", "--brokers", k.bootstrap, "--fx", root.resolve("config/fx_rates.yaml").toString(),
                root.resolve("config/rules.yaml").toString());
        return k;
    }

    /** SIGKILLs every job JVM this broker's tests started, then stops the broker. */
    void close() throws Exception {
        killJobs();
        broker.destroy();
        if (!broker.waitFor(30, TimeUnit.SECONDS)) {
            broker.destroyForcibly().waitFor();
        }
    }

    /** SIGKILLs every job JVM started by startJob, so no test leaves one running into the next. */
    void killJobs() throws InterruptedException {
        for (Process p : jobs) {
            p.destroyForcibly().waitFor();
        }
        jobs.clear();
    }

    /** The streaming job as its own JVM, logging to tmp/job-NAME.log; killJobs or close ends it. */
    Process startJob(Path ckpt, int rest, String name, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx640m", "-jar", jar().toString(), "--bootstrap", bootstrap,
                "--checkpoint-dir", ckpt.toString(), "--rest-port", Integer.toString(rest), "--parallelism", "2"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("job-" + name + ".log").toFile())
                .start();
        jobs.add(p);
        return p;
    }

    /** The replay mode of the jar on a file, with the repository's rules, into dir. */
    void replay(Path in, Path dir) throws Exception {
        run("java", "-Xmx768m", "-jar", jar().toString(), "--replay", in.toString(),
                "--rules", Fixtures.repoRoot().resolve("config/rules.yaml").toString(),
                "--fx", Fixtures.repoRoot().resolve("config/fx_rates.yaml").toString(), "--out", dir.toString());
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("finlake.jar", "target/finlake-flinkjob.jar"));
        assertThat(jar).as("the shaded job jar (mvn package)").isRegularFile();
        return jar;
    }

    static String get(int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    static void awaitRest(int port, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            assertThat(job.isAlive()).as("job alive").isTrue();
            try {
                if (get(port, "/jobs/overview").contains("\"state\":\"RUNNING\"")) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            assertThat(System.nanoTime()).as("job RUNNING on the REST API within 2 minutes").isLessThan(deadline);
            Thread.sleep(300);
        }
    }

    /**
     * The sum over the engine's subtasks of one of its "finlake" counters, through the REST API (whose
     * metric fetcher refreshes every 10 s by default, so callers poll).
     */
    static long engineCounter(int port, String counter) throws Exception {
        String base = vertexMetrics(port, "rules-engine");
        String name = null;
        for (JsonNode m : Fixtures.JSON.readTree(get(port, base))) {
            if (m.get("id").asText().endsWith("finlake." + counter)) {
                name = m.get("id").asText();
            }
        }
        if (name == null) {
            return -1; // not reported yet
        }
        JsonNode v = Fixtures.JSON.readTree(get(port, base + "?get=" + name + "&agg=sum"));
        return v.isEmpty() ? -1 : Math.round(v.get(0).get("sum").asDouble());
    }

    /** The REST path of the subtask metrics of the running job's vertex whose name contains {@code vertex}. */
    private static String vertexMetrics(int port, String vertex) throws Exception {
        JsonNode jobs = Fixtures.JSON.readTree(get(port, "/jobs/overview")).get("jobs");
        String jid = null;
        for (JsonNode j : jobs) {
            if ("RUNNING".equals(j.get("state").asText())) {
                jid = j.get("jid").asText();
            }
        }
        assertThat(jid).as("a running job").isNotNull();
        String vid = null;
        for (JsonNode v : Fixtures.JSON.readTree(get(port, "/jobs/" + jid)).get("vertices")) {
            if (v.get("name").asText().contains(vertex)) {
                vid = v.get("id").asText();
            }
        }
        assertThat(vid).as("the %s vertex", vertex).isNotNull();
        return "/jobs/" + jid + "/vertices/" + vid + "/subtasks/metrics";
    }

    /**
     * The current watermark of each raw-transactions split that has one (Flink's per-split source metric
     * split.&lt;split&gt;.watermark.currentWatermark), in epoch milliseconds, by split.
     */
    static Map<String, Long> splitWatermarks(int port) throws Exception {
        String base = vertexMetrics(port, "Source: raw-transactions");
        List<String> ids = new ArrayList<>();
        for (JsonNode m : Fixtures.JSON.readTree(get(port, base))) {
            String id = m.get("id").asText();
            if (id.contains(".split.") && id.endsWith(".watermark.currentWatermark")) {
                ids.add(id);
            }
        }
        Map<String, Long> out = new TreeMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        for (JsonNode m : Fixtures.JSON.readTree(get(port, base + "?agg=max&get=" + String.join(",", ids)))) {
            long wm = Math.round(m.get("max").asDouble());
            if (wm > Long.MIN_VALUE / 2) { // Long.MIN_VALUE: no watermark yet
                String id = m.get("id").asText();
                out.put(id.substring(id.indexOf(".split.") + 7, id.lastIndexOf(".watermark.")), wm);
            }
        }
        return out;
    }

    /** Deletes the job's consumer group, so the next job without a checkpoint reads raw-transactions from the start. */
    void deleteGroup(String group) throws Exception {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrap);
        try (Admin a = Admin.create(p)) {
            a.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * The counter once it has held one value across two reads at least 12 s apart (longer than the REST
     * metric fetcher's interval), within 90 s.
     */
    static long settledEngineCounter(int port, String counter) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long last = Long.MIN_VALUE;
        long since = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long v = engineCounter(port, counter);
            if (v != last) {
                last = v;
                since = System.nanoTime();
            } else if (v >= 0 && System.nanoTime() - since > TimeUnit.SECONDS.toNanos(12)) {
                return v;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("engine counter " + counter + " did not settle within 90 s (last " + last + ")");
    }

    interface RecordCheck {
        void accept(ConsumerRecord<byte[], byte[]> r) throws Exception;
    }

    /** Reads a topic from the start (read_committed) until {@code n} records, then 3 s more to catch extras. */
    void awaitTopic(String topic, int n, RecordCheck check) throws Exception {
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            for (var p : c.partitionsFor(topic)) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            long quietUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    check.accept(r);
                    seen++;
                }
                if (seen >= n && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                }
            }
        }
    }

    KafkaConsumer<byte[], byte[]> consumer() {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        p.setProperty(ProducerConfig.LINGER_MS_CONFIG, "5");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** The generator keys by account_id; a record that is not JSON keeps a null key. */
    static byte[] keyOf(byte[] v) {
        try {
            JsonNode n = Fixtures.JSON.readTree(v);
            JsonNode a = n == null ? null : n.get("account_id");
            return a != null && a.isTextual() ? a.asText().getBytes(StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    void run(String... cmd) throws Exception {
        File log = tmp.resolve("cmd-" + Math.abs(String.join(" ", cmd).hashCode()) + ".log").toFile();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", cmd));
        }
        assertThat(p.exitValue()).as("%s\n%s", String.join(" ", cmd), Files.readString(log.toPath())).isZero();
    }
}
