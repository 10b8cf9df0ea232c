package io.finlake.flinkjob.rules;

import java.math.BigDecimal;
import java.time.ZoneId;
import java.time.zone.ZoneRules;

/**
 * One parsed rule. A POJO because pending transactions keep the rules in force when they arrived (a rule
 * changed later applies only to later events), and that snapshot is part of checkpointed state.
 */
public class Rule {
    public static final String THRESHOLD = "threshold";
    public static final String VELOCITY = "velocity";
    public static final String TIME_OF_DAY = "time_of_day";
    public static final String NEW_COUNTRY = "new_country";

    public String name;
    public String type;
    public long version;
    public boolean enabled;
    public String severity;
    public String description;

    // threshold
    public BigDecimal amountUsd;
    // velocity
    public int count;
    public long windowNanos;
    public String windowText;
    // time_of_day: [start, end) as nanos of the local day; end < start wraps past midnight
    public long startNanos;
    public long endNanos;
    public String startText;
    public String endText;
    public String timezone;
    /** The rules of {@link #timezone}, resolved once (transient: not part of the state's schema). */
    private transient ZoneRules zoneRules;
    // new_country
    public int minHistory;
    public long lookbackNanos;
    public String lookbackText;

    public Rule() {}

    /** The offsets of {@link #timezone} (time_of_day rules only; the parser checked the zone exists). */
    public ZoneRules zoneRules() {
        ZoneRules z = zoneRules;
        if (z == null) {
            z = ZoneId.of(timezone).getRules();
            zoneRules = z;
        }
        return z;
    }

    /** Velocity and new_country need every earlier event of the account, so they wait for the watermark. */
    public boolean needsEventTimeHistory() {
        return VELOCITY.equals(type) || NEW_COUNTRY.equals(type);
    }

    @Override
    public String toString() {
        return name + "(" + type + " v" + version + ")";
    }
}
