// Alert latency as a read_committed consumer sees it, per rule type: arrival time of each alert minus its
// Kafka record timestamp, which the job sets to the raw transaction's own Kafka timestamp (produce time).
// Run by bench/alert-latency.sh with the job's jar on the classpath (it brings kafka-clients):
//   java -cp finlake-flinkjob.jar bench/AlertLatency.java BROKERS SECONDS OUT_OF_ORDERNESS_MS
// Exit status 1 when a new_country alert (always decided at the watermark) became visible sooner than the
// out-of-orderness bound after its raw record: it cannot have waited for the watermark.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class AlertLatency {
    private static final Pattern TYPE = Pattern.compile("\"rule_type\":\"([a-z_]+)\"");

    public static void main(String[] args) throws Exception {
        String brokers = args[0];
        long seconds = Long.parseLong(args[1]);
        long boundMs = Long.parseLong(args[2]);
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
}
