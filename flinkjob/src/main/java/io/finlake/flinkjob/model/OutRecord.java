package io.finlake.flinkjob.model;

/** A record ready for an output topic (or replay file): key, JSON value, and the raw record's timestamp. */
public class OutRecord {
    public byte[] key;
    public byte[] value;
    /** Kafka timestamp of the raw record this came from; Long.MIN_VALUE when unknown (replay of a bad line). */
    public long timestamp;

    public OutRecord() {}

    public OutRecord(byte[] key, byte[] value, long timestamp) {
        this.key = key;
        this.value = value;
        this.timestamp = timestamp;
    }
}
