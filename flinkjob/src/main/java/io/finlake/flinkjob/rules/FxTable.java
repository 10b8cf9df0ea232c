package io.finlake.flinkjob.rules;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.TreeMap;

/** USD value of one unit of each currency (key _fx_rates of alert-rules). */
public final class FxTable {
    public static final FxTable EMPTY = new FxTable(Map.of(), 0);

    private final Map<String, BigDecimal> usdPerUnit;
    private final long version;

    public FxTable(Map<String, BigDecimal> usdPerUnit, long version) {
        this.usdPerUnit = Map.copyOf(usdPerUnit);
        this.version = version;
    }

    public BigDecimal rate(String currency) {
        return usdPerUnit.get(currency);
    }

    /** The exact USD value (no rounding), or null when the currency has no rate. */
    public BigDecimal toUsdExact(BigDecimal amount, String currency) {
        BigDecimal r = usdPerUnit.get(currency);
        return r == null ? null : amount.multiply(r);
    }

    /**
     * The amount_usd column: the exact USD value rounded to 2 decimals half-even (banker's rounding). This is
     * the one rounding of money in the pipeline: amounts themselves are never rounded (an amount with more
     * decimals than its currency has is dead-lettered), and ingest stores amount_usd as written.
     */
    public static BigDecimal round(BigDecimal usd) {
        return usd.setScale(2, RoundingMode.HALF_EVEN);
    }

    public long version() {
        return version;
    }

    public String currencies() {
        return String.join(", ", new TreeMap<>(usdPerUnit).keySet());
    }

    public boolean isEmpty() {
        return usdPerUnit.isEmpty();
    }
}
