package io.finlake.flinkjob.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Event-time history of one account. {@link #times} holds the event time of every transaction that arrived
 * (sorted, trimmed behind the watermark to the widest velocity window); {@link #history} and
 * {@link #countries} cover only transactions the watermark has passed, so a new_country check sees exactly
 * the transactions earlier in event time (ties broken by arrival).
 *
 * <p>Everything here, and the account's lifecycle entries, expires by event time: one cleanup timer per
 * account ({@link #cleanupAt}) at the earliest expiry, rounded up to a bucket so that accounts share
 * timestamps; the account's state is cleared once nothing is left.
 */
public class AccountState {
    public long seq;
    /** Transactions folded since the account's state was created (reset when it expires as a whole). */
    public long history;
    /** Country → latest event time (ns) of a decided transaction there, within the widest lookback. */
    public HashMap<String, Long> countries;
    public long[] times;
    public int timesLen;
    public ArrayList<Pending> pending;
    /** Number of the account's entries in the lifecycle map state (maintained, so emptiness needs no scan). */
    public int lifecycleCount;
    /**
     * Event time (ms) at or before which the earliest lifecycle entry may expire: a lower bound (a later
     * event of a transaction moves its expiry on without touching this), made exact by each expiry scan.
     */
    public long lifecycleDue = Long.MAX_VALUE;
    /** Event time (ms) of the cleanup timer registered for this account, 0 when none is outstanding. */
    public long cleanupAt;

    public AccountState() {}

    public static AccountState fresh() {
        AccountState a = new AccountState();
        a.countries = new HashMap<>(4);
        a.times = new long[8];
        a.pending = new ArrayList<>(2);
        return a;
    }

    /** Nothing left to remember: the account's state can be cleared. */
    public boolean isEmpty() {
        return lifecycleCount == 0 && timesLen == 0 && pending.isEmpty() && countries.isEmpty();
    }

    /**
     * The event time (ms) at which a cleanup should next run, or {@link Long#MAX_VALUE} when there is
     * nothing to clean. Each kind's expiry is rounded up to a bucket of 1/48 of its retention (at least 1 s),
     * so state lives at most about 2% past its retention and the account's timers coalesce.
     */
    public long nextCleanup(long windowNanos, long lookbackNanos, long ttlMillis) {
        long due = Long.MAX_VALUE;
        if (lifecycleDue != Long.MAX_VALUE) {
            due = roundUp(lifecycleDue, ttlMillis);
        }
        if (timesLen > 0) {
            due = Math.min(due, roundUp(ceilMillis(times[0] + windowNanos), windowNanos / 1_000_000L));
        }
        if (!countries.isEmpty()) {
            long oldest = Long.MAX_VALUE;
            for (long v : countries.values()) {
                oldest = Math.min(oldest, v);
            }
            due = Math.min(due, roundUp(ceilMillis(oldest + lookbackNanos), lookbackNanos / 1_000_000L));
        }
        return due;
    }

    static long roundUp(long atMillis, long retentionMillis) {
        long bucket = Math.max(1000L, retentionMillis / 48);
        return Math.floorDiv(atMillis + bucket - 1, bucket) * bucket;
    }

    private static long ceilMillis(long nanos) {
        return -Math.floorDiv(-nanos, 1_000_000L);
    }

    public void addTime(long t) {
        if (timesLen == times.length) {
            long[] grown = new long[Math.max(8, timesLen * 2)];
            System.arraycopy(times, 0, grown, 0, timesLen);
            times = grown;
        }
        int i = timesLen;
        while (i > 0 && times[i - 1] > t) {
            times[i] = times[i - 1];
            i--;
        }
        times[i] = t;
        timesLen++;
    }

    /** Number of transactions with event time in (from, to]. */
    public int countIn(long fromExclusive, long toInclusive) {
        int lo = upperBound(fromExclusive);
        int hi = upperBound(toInclusive);
        return hi - lo;
    }

    /** First index whose time is > t. */
    private int upperBound(long t) {
        int lo = 0;
        int hi = timesLen;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (times[mid] <= t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Drops times at or before {@code t}: no on-time window can reach them any more. */
    public void dropTimesUpTo(long t) {
        int n = upperBound(t);
        if (n == timesLen && times.length > 8) {
            times = new long[8]; // a burst's array shrinks back once it has expired
            timesLen = 0;
        } else if (n > 0) {
            System.arraycopy(times, n, times, 0, timesLen - n);
            timesLen -= n;
        }
    }

    public void addPending(Pending p) {
        int i = pending.size();
        while (i > 0 && after(pending.get(i - 1), p)) {
            i--;
        }
        pending.add(i, p);
    }

    private static boolean after(Pending a, Pending b) {
        return a.eventNanos > b.eventNanos || (a.eventNanos == b.eventNanos && a.seq > b.seq);
    }

    public Pending findPending(String transactionId) {
        for (Pending p : pending) {
            if (p.txn != null && p.transactionId.equals(transactionId)) {
                return p;
            }
        }
        return null;
    }

    /** Adds a decided transaction to the history that later new_country checks see. */
    public void fold(long eventNanos, String country) {
        history++;
        countries.merge(country, eventNanos, Math::max);
    }

    /** Drops countries last used at or before {@code t}: no on-time lookback can reach them any more. */
    public void dropCountriesUpTo(long t) {
        for (Iterator<Map.Entry<String, Long>> it = countries.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() <= t) {
                it.remove();
            }
        }
    }
}
