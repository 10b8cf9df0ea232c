package io.finlake.flinkjob.rules;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The rules and FX table in force at one moment: immutable, rebuilt whenever alert-rules changes. */
public final class RuleSet {
    private static final Logger LOG = LoggerFactory.getLogger(RuleSet.class);
    public static final RuleSet EMPTY = new RuleSet(List.of(), FxTable.EMPTY);

    private final List<Rule> enabled;
    private final FxTable fx;
    private final long maxWindowNanos;
    private final long maxLookbackNanos;

    public RuleSet(List<Rule> rules, FxTable fx) {
        List<Rule> on = new ArrayList<>();
        long w = 0;
        long l = 0;
        for (Rule r : rules) {
            // Disabled rules count for retention: re-enabling one must find its history still there.
            if (Rule.VELOCITY.equals(r.type)) {
                w = Math.max(w, r.windowNanos);
            } else if (Rule.NEW_COUNTRY.equals(r.type)) {
                l = Math.max(l, r.lookbackNanos);
            }
            if (r.enabled) {
                on.add(r);
            }
        }
        on.sort((a, b) -> a.name.compareTo(b.name));
        this.enabled = Collections.unmodifiableList(on);
        this.fx = fx;
        this.maxWindowNanos = w;
        this.maxLookbackNanos = l;
    }

    /** Builds the set from alert-rules values by key; records that do not parse are logged and skipped. */
    public static RuleSet fromRecords(Iterable<Map.Entry<String, String>> records) {
        List<Rule> rules = new ArrayList<>();
        FxTable fx = FxTable.EMPTY;
        Map<String, String> sorted = new TreeMap<>();
        for (Map.Entry<String, String> e : records) {
            if (e.getValue() != null) {
                sorted.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            try {
                if (RuleParser.FX_KEY.equals(e.getKey())) {
                    fx = RuleParser.parseFx(e.getValue());
                } else if (!e.getKey().startsWith("__")) {
                    rules.add(RuleParser.parseRule(e.getKey(), e.getValue()));
                }
            } catch (RuleParser.InvalidRuleException ex) {
                LOG.warn("skipping unusable alert-rules record {}: {}", e.getKey(), ex.getMessage());
            }
        }
        return new RuleSet(rules, fx);
    }

    public List<Rule> enabled() {
        return enabled;
    }

    public FxTable fx() {
        return fx;
    }

    /** The widest velocity window of the rules in alert-rules, enabled or not: how long times are kept. */
    public long maxWindowNanos() {
        return maxWindowNanos;
    }

    /** The widest new_country lookback, enabled or not: how long the countries of an account are kept. */
    public long maxLookbackNanos() {
        return maxLookbackNanos;
    }
}
