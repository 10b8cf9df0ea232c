package io.finlake.flinkjob.rules;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * The rule predicates and their alert descriptions, free of Flink so each boundary can be tested directly.
 * A null description means the rule does not fire.
 */
public final class RuleEval {
    private RuleEval() {}

    /** threshold: fires when the exact USD value is strictly greater than amount_usd. */
    public static String threshold(Rule r, BigDecimal amount, String currency, BigDecimal usdExact) {
        if (usdExact == null || usdExact.compareTo(r.amountUsd) <= 0) {
            return null;
        }
        String usd = FxTable.round(usdExact).toPlainString();
        String money = "USD".equals(currency) ? amount.toPlainString() + " USD"
                : amount.toPlainString() + " " + currency + " (" + usd + " USD)";
        return "Amount " + money + " exceeds the " + r.name + " threshold of " + r.amountUsd.toPlainString() + " USD";
    }

    /** time_of_day: the local time in the rule's zone lies in [start, end), wrapping midnight when end < start. */
    public static String timeOfDay(Rule r, long eventNanos) {
        long epochSecond = Math.floorDiv(eventNanos, 1_000_000_000L);
        long nano = Math.floorMod(eventNanos, 1_000_000_000L);
        // What Instant.atZone(zone).toLocalTime() computes, without building the date: the local second of
        // the day is the epoch second moved by the zone's offset at that instant.
        int offset = r.zoneRules().getOffset(Instant.ofEpochSecond(epochSecond, nano)).getTotalSeconds();
        long secondOfDay = Math.floorMod(epochSecond + offset, 86_400L);
        long tod = secondOfDay * 1_000_000_000L + nano;
        boolean inside = r.startNanos <= r.endNanos
                ? tod >= r.startNanos && tod < r.endNanos
                : tod >= r.startNanos || tod < r.endNanos;
        if (!inside) {
            return null;
        }
        // Plain concatenation: String.format parses its pattern with regular expressions on every call.
        return "Transaction at " + two((int) (secondOfDay / 3600)) + ":" + two((int) (secondOfDay / 60 % 60)) + ":"
                + two((int) (secondOfDay % 60)) + " local time (" + r.timezone + ") is inside the " + r.name
                + " window [" + r.startText + ", " + r.endText + ")";
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : Integer.toString(v);
    }

    /** velocity: {@code inWindow} transactions of the account in (t - window, t], this one included. */
    public static String velocity(Rule r, String accountId, int inWindow) {
        if (inWindow < r.count) {
            return null;
        }
        return inWindow + " transactions on account " + accountId + " within " + r.windowText
                + " (rule " + r.name + " fires at " + r.count + " or more)";
    }

    /**
     * new_country: at least min_history earlier transactions, and no earlier transaction in this country with
     * event time in (t - lookback, t].
     *
     * @param lastSeenNanos the latest earlier transaction in this country, or null if none is known
     */
    public static String newCountry(Rule r, String accountId, String country, long eventNanos, long earlier,
            Long lastSeenNanos) {
        if (earlier < r.minHistory) {
            return null;
        }
        if (lastSeenNanos != null && lastSeenNanos > eventNanos - r.lookbackNanos) {
            return null;
        }
        return "Account " + accountId + " transacts in " + country + ", not used in the last " + r.lookbackText
                + ", after " + earlier + " earlier transactions (rule " + r.name + " needs at least "
                + r.minHistory + ")";
    }
}
