package io.finlake.flinkjob.io;

import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.validate.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kafka sources and sinks of the streaming job. */
public final class KafkaIO {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaIO.class);
    public static final String RAW = "raw-transactions";
    public static final String RULES = "alert-rules";
    public static final String PROCESSED = "transactions-processed";
    public static final String ALERTS = "alerts";
    public static final String DEAD_LETTER = "dead-letter";
    public static final String GROUP_ID = "finlake-flinkjob";

    private KafkaIO() {}

    /** raw-transactions, validated as it is read so the watermark can use the event time. */
    public static KafkaSource<Parsed> rawSource(String bootstrap) {
        return KafkaSource.<Parsed>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(RAW)
                .setGroupId(GROUP_ID)
                // Without a checkpoint: resume from the group's offsets (committed on checkpoints), else earliest.
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawDeserializer())
                .setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .setProperty("partition.discovery.interval.ms", "10000")
                .setProperty("client.id.prefix", GROUP_ID + "-raw")
                .build();
    }

    /** alert-rules from the earliest offset (on restore: from the checkpointed offsets). */
    public static KafkaSource<RuleUpdate> rulesSource(String bootstrap) {
        return KafkaSource.<RuleUpdate>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(RULES)
                .setGroupId(GROUP_ID + "-rules")
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(new RuleDeserializer())
                .setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "false")
                .setProperty("client.id.prefix", GROUP_ID + "-rules")
                .build();
    }

    /** An exactly-once sink: records become visible to read_committed consumers when a checkpoint completes. */
    public static KafkaSink<OutRecord> sink(String bootstrap, String topic, Duration transactionTimeout) {
        Properties p = new Properties();
        // Must stay within the broker's transaction.max.timeout.ms (15 min by default).
        p.setProperty("transaction.timeout.ms", Long.toString(transactionTimeout.toMillis()));
        p.setProperty("linger.ms", "5");
        return KafkaSink.<OutRecord>builder()
                .setBootstrapServers(bootstrap)
                .setKafkaProducerConfig(p)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(GROUP_ID + "-" + topic)
                .setRecordSerializer(new OutSerializer(topic))
                .build();
    }

    /**
     * Reads alert-rules up to its current end with a plain consumer, before the job starts, so the first
     * transaction is already evaluated with the rules; the broadcast input then catches up from there.
     */
    public static Snapshot readRules(String bootstrap, Duration timeout) {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.CLIENT_ID_CONFIG, GROUP_ID + "-rules-snapshot");
        List<RuleUpdate> updates = new ArrayList<>();
        Map<Integer, Long> end = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(RULES, timeout);
            if (infos == null || infos.isEmpty()) {
                LOG.warn("topic {} not found: starting without rules or FX table; run `lakectl topics create` "
                        + "and `lakectl rules apply`", RULES);
                return new Snapshot(updates, end);
            }
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo i : infos) {
                tps.add(new TopicPartition(RULES, i.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = c.endOffsets(tps, timeout);
            for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
                end.put(e.getKey().partition(), e.getValue());
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!caughtUp(c, ends)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + RULES + " did not reach its end within " + timeout);
                }
                ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    if (r.offset() < ends.get(new TopicPartition(RULES, r.partition()))) {
                        updates.add(toUpdate(r));
                    }
                }
            }
        }
        LOG.info("read {} alert-rules records up to offsets {}", updates.size(), end);
        return new Snapshot(updates, end);
    }

    private static boolean caughtUp(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    static RuleUpdate toUpdate(ConsumerRecord<byte[], byte[]> r) {
        String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
        String value = r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8);
        return new RuleUpdate(key, value, r.partition(), r.offset());
    }

    /** The alert-rules records up to {@code end} (next offset per partition). */
    public record Snapshot(List<RuleUpdate> updates, Map<Integer, Long> end) {}

    static final class RawDeserializer implements KafkaRecordDeserializationSchema<Parsed> {
        private static final long serialVersionUID = 1L;
        private transient Validator validator;

        @Override
        public void open(DeserializationSchema.InitializationContext context) {
            validator = new Validator(System::currentTimeMillis, false);
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<Parsed> out) {
            if (validator == null) {
                validator = new Validator(System::currentTimeMillis, false);
            }
            out.collect(validator.parse(r.value(), r.key(), r.topic(), r.partition(), r.offset(), r.timestamp()));
        }

        @Override
        public TypeInformation<Parsed> getProducedType() {
            return TypeInformation.of(Parsed.class);
        }
    }

    static final class RuleDeserializer implements KafkaRecordDeserializationSchema<RuleUpdate> {
        private static final long serialVersionUID = 1L;

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<RuleUpdate> out) {
            out.collect(toUpdate(r));
        }

        @Override
        public TypeInformation<RuleUpdate> getProducedType() {
            return TypeInformation.of(RuleUpdate.class);
        }
    }

    static final class OutSerializer implements KafkaRecordSerializationSchema<OutRecord> {
        private static final long serialVersionUID = 1L;
        private final String topic;

        OutSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(OutRecord r, KafkaSinkContext ctx, Long ts) {
            // The raw record's timestamp travels on, so consumers measure generation → here latency.
            Long timestamp = r.timestamp == Long.MIN_VALUE ? null : r.timestamp;
            return new ProducerRecord<>(topic, null, timestamp, r.key, r.value);
        }
    }
}
