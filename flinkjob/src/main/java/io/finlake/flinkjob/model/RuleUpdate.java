package io.finlake.flinkjob.model;

/** One record of alert-rules: key rule_name (or _fx_rates), value JSON, null value = tombstone. */
public class RuleUpdate implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    public String key;
    public String value;
    public int partition;
    public long offset;

    public RuleUpdate() {}

    public RuleUpdate(String key, String value, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.partition = partition;
        this.offset = offset;
    }

    @Override
    public String toString() {
        return "RuleUpdate{" + key + "@" + partition + ":" + offset + (value == null ? " tombstone" : "") + "}";
    }
}
