// Alert latency as a read_committed consumer sees it, per rule type: arrival time of each alert minus its
// Kafka record timestamp, which the job sets to the raw transaction's own Kafka timestamp (produce time).
// Run by bench/alert-latency.sh with the job's jar on the classpath (it brings kafka-clients):
//   java -cp finlake-flinkjob.jar bench/AlertLatency.java BROKERS SECONDS OUT_OF_ORDERNESS_MS [QUIET_PER_S]
// Exit status 1 when a new_country alert (always decided at the watermark) became visible sooner than the
// out-of-orderness bound after its raw record: it cannot have waited for the watermark.
//
// QUIET_PER_S > 0 also produces that many transactions a second (at random gaps) to raw-transactions whose
// event time lies inside config/rules.yaml's quiet hours (01:00-05:00 UTC): now when the wall clock is inside them, else
// the latest such instant before now, which is behind the watermark (late). time_of_day depends on the
// event alone and is decided on arrival either way, so its alert takes the path of an on-time one; a late
// event only also counts in late_events. Each has an account of its own (no history: velocity and
// new_country cannot fire) and a small USD amount (threshold cannot), so its one alert is time_of_day.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class AlertLatency {
    private static final Pattern TYPE = Pattern.compile("\"rule_type\":\"([a-z_]+)\"");

    public static void main(String[] args) throws Exception {
        String brokers = args[0];
        long seconds = Long.parseLong(args[1]);
        long boundMs = Long.parseLong(args[2]);
        double quietPerSecond = args.length > 3 ? Double.parseDouble(args[3]) : 0;
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Map<String, List<Long>> byType = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor("alerts").forEach(i -> tps.add(new TopicPartition("alerts", i.partition())));
            c.assign(tps);
            c.seekToEnd(tps);
            tps.forEach(c::position);
            long since = System.currentTimeMillis();
            long end = since + seconds * 1000;
            List<TopicPartition> raw = new ArrayList<>();
            c.partitionsFor("raw-transactions").forEach(i -> raw.add(new TopicPartition("raw-transactions", i.partition())));
            long raw0 = c.endOffsets(raw).values().stream().mapToLong(Long::longValue).sum();
            Thread quiet = quietPerSecond > 0 ? quietHours(brokers, quietPerSecond, end) : null;
            while (System.currentTimeMillis() < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(20))) {
                    long now = System.currentTimeMillis();
                    if (r.timestamp() < since) {
                        continue; // raised for a record produced before the measurement began
                    }
                    Matcher m = TYPE.matcher(new String(r.value(), java.nio.charset.StandardCharsets.UTF_8));
                    String type = m.find() ? m.group(1) : "unknown";
                    byType.computeIfAbsent(type, k -> new ArrayList<>()).add(now - r.timestamp());
                }
            }
            if (quiet != null) {
                quiet.join();
            }
            long raw1 = c.endOffsets(raw).values().stream().mapToLong(Long::longValue).sum();
            System.out.printf(Locale.ROOT, "raw-transactions: %.0f records/s produced during the measurement%n",
                    (raw1 - raw0) * 1000.0 / (System.currentTimeMillis() - since));
        }
        boolean ok = true;
        System.out.printf(Locale.ROOT, "%-12s %6s %8s %8s %8s %8s%n", "rule_type", "n", "min", "p50", "p95", "max");
        for (Map.Entry<String, List<Long>> e : byType.entrySet()) {
            List<Long> l = e.getValue();
            Collections.sort(l);
            System.out.printf(Locale.ROOT, "%-12s %6d %6dms %6dms %6dms %6dms%n", e.getKey(), l.size(), l.get(0),
                    l.get(l.size() / 2), l.get(Math.min(l.size() - 1, (int) (l.size() * 0.95))), l.get(l.size() - 1));
            if (e.getKey().equals("new_country") && l.get(0) < boundMs) {
                System.out.printf("FAIL: a new_country alert was visible %d ms after its raw record, before the "
                        + "%d ms out-of-orderness bound: it did not wait for the watermark%n", l.get(0), boundMs);
                ok = false;
            }
        }
        if (byType.isEmpty()) {
            System.out.println("FAIL: no alert in " + seconds + " s");
            ok = false;
        }
        System.exit(ok ? 0 : 1);
    }

    /** Start of the quiet hours of config/rules.yaml's quiet_hours rule, UTC, in ms of the day. */
    private static final long QUIET_START_MS = 3_600_000L, QUIET_END_MS = 5 * 3_600_000L, DAY_MS = 86_400_000L;

    /** Produces quiet-hour transactions at {@code perSecond} until {@code end} (see the file comment). */
    private static Thread quietHours(String brokers, double perSecond, long end) {
        Properties p = new Properties();
        p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.setProperty(ProducerConfig.LINGER_MS_CONFIG, "0");
        Thread t = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                // Exponential gaps (a Poisson stream): a fixed period would keep the same phase against the
                // checkpoint interval, and the latency would be that phase instead of its distribution.
                java.util.SplittableRandom rnd = new java.util.SplittableRandom();
                long next = System.nanoTime();
                for (long i = 0; System.currentTimeMillis() < end - 5_000; i++) {
                    long now = System.currentTimeMillis();
                    long tod = Math.floorMod(now, DAY_MS);
                    long at = tod >= QUIET_START_MS && tod < QUIET_END_MS ? now
                            : now - tod + QUIET_START_MS + Math.floorMod(now, QUIET_END_MS - QUIET_START_MS)
                                    - (tod < QUIET_START_MS ? DAY_MS : 0);
                    String account = "ACQUIET" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
                    String value = "{\"transaction_id\":\"" + UUID.randomUUID() + "\",\"timestamp\":\""
                            + Instant.ofEpochMilli(at) + "\",\"account_id\":\"" + account + "\",\"amount\":12.34,"
                            + "\"currency\":\"USD\",\"merchant_name\":\"Night Owl Cafe\",\"merchant_category\":\"dining\","
                            + "\"transaction_type\":\"purchase\",\"location_country\":\"US\",\"status\":\"completed\"}";
                    prod.send(new ProducerRecord<>("raw-transactions", account.getBytes(StandardCharsets.UTF_8),
                            value.getBytes(StandardCharsets.UTF_8)));
                    next += (long) (-Math.log(1 - rnd.nextDouble()) * 1e9 / perSecond);
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "quiet-hours");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
