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
 */
public class AccountState {
    public long seq;
    public long history;
    public HashMap<String, Long> countries;
    public long[] times;
    public int timesLen;
    public ArrayList<Pending> pending;
    /**
     * Lifecycle expiry queue in processing-time order: transaction ids with the time they may expire. An id
     * whose state was touched since is re-queued; Flink's own state TTL would rescan whole maps per access.
     */
    public ArrayList<String> expiryIds;
    public long[] expiryTimes;
    public int expiryHead;

    public AccountState() {}

    public static AccountState fresh() {
        AccountState a = new AccountState();
        a.countries = new HashMap<>(4);
        a.times = new long[8];
        a.pending = new ArrayList<>(2);
        a.expiryIds = new ArrayList<>(4);
        a.expiryTimes = new long[4];
        return a;
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
        if (n > 0) {
            System.arraycopy(times, n, times, 0, timesLen - n);
            timesLen -= n;
        }
    }

    public void enqueueExpiry(String transactionId, long at) {
        int n = expiryIds.size();
        if (n == expiryTimes.length) {
            long[] grown = new long[n * 2];
            System.arraycopy(expiryTimes, 0, grown, 0, n);
            expiryTimes = grown;
        }
        expiryIds.add(transactionId);
        expiryTimes[n] = at;
    }

    /** The next transaction id due at or before {@code now}, or null; removes it from the queue. */
    public String pollExpired(long now) {
        if (expiryHead >= expiryIds.size() || expiryTimes[expiryHead] > now) {
            return null;
        }
        String id = expiryIds.get(expiryHead);
        expiryIds.set(expiryHead, null);
        expiryHead++;
        if (expiryHead > 32 && expiryHead * 2 > expiryIds.size()) {
            int n = expiryIds.size() - expiryHead;
            java.util.List<String> rest = new ArrayList<>(expiryIds.subList(expiryHead, expiryIds.size()));
            expiryIds.clear();
            expiryIds.addAll(rest);
            System.arraycopy(expiryTimes, expiryHead, expiryTimes, 0, n);
            expiryHead = 0;
        }
        return id;
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

    public void dropCountriesUpTo(long t) {
        if (countries.size() <= 1) {
            return;
        }
        for (Iterator<Map.Entry<String, Long>> it = countries.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() <= t) {
                it.remove();
            }
        }
    }
}
