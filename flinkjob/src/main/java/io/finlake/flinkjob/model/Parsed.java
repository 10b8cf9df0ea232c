package io.finlake.flinkjob.model;

/**
 * The result of reading one raw record: either {@link #txn} (valid so far) or {@link #errors} with the
 * raw bytes and their source coordinates, ready to become a dead letter.
 */
public class Parsed {
    public Txn txn;
    public ErrorDetail[] errors;
    public byte[] raw;
    public byte[] key;
    public String srcTopic;
    public int srcPartition;
    public long srcOffset;
    public long srcTimestamp;

    public Parsed() {}

    public boolean valid() {
        return txn != null;
    }
}
