package io.finlake.flinkjob.model;

import java.math.BigDecimal;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/** A transaction event that passed the stateless checks, with the coordinates of the raw record. */
public class Txn {
    /** How Txn goes between operators: {@link TxnSerializer}, not the reflective POJO serializer. */
    public static final TypeInformation<Txn> TYPE = new OwnType<>(Txn.class, new TxnSerializer());

    public String transactionId;
    /** The timestamp exactly as the producer wrote it. */
    public String timestamp;
    /** Event time in epoch nanoseconds, so window edges are exact even below a millisecond. */
    public long eventNanos;
    public String accountId;
    public BigDecimal amount;
    public String currency;
    public String merchantName;
    public String merchantCategory;
    public String transactionType;
    public String locationCountry;
    public String status;
    /** Set by the engine from the FX table in force when the event arrived. */
    public BigDecimal amountUsd;

    /** The original record as text (valid UTF-8 JSON), embedded verbatim in alerts and dead letters. */
    public String raw;
    public byte[] key;
    public String srcTopic;
    public int srcPartition;
    public long srcOffset;
    /** Kafka timestamp of the raw record (generation time); Long.MIN_VALUE when unknown. */
    public long srcTimestamp;

    public Txn() {}

    public long eventMillis() {
        return Math.floorDiv(eventNanos, 1_000_000L);
    }
}
