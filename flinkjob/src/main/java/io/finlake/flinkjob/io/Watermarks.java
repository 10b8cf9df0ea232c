package io.finlake.flinkjob.io;

import io.finlake.flinkjob.model.Parsed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.util.clock.RelativeClock;

/**
 * Event-time watermarks: bounded out-of-orderness over valid transactions only, per source split.
 *
 * <p>Streaming, a split with no valid transaction for the idleness timeout is flushed, then idle: first its
 * watermark advances to the highest event time it has seen (or, when every other split of its reader is
 * already idle, the highest any of them was flushed to), so the decisions waiting for the watermark are
 * made instead of waiting for the next event; one watermark interval later it is marked idle, so it no
 * longer holds back the other splits. Its next valid transaction makes it active again; its watermark
 * never goes back, so an event at or behind the flushed watermark is late like any other.
 */
public final class Watermarks {
    private Watermarks() {}

    /**
     * @param perRecord replay: emit after every record, so the watermark depends on file order alone and
     *     nothing is idle; streaming emits periodically (pipeline.auto-watermark-interval) and flushes then
     *     idles a split after {@code idleness} without a valid transaction (null or zero: never)
     */
    public static WatermarkStrategy<Parsed> transactions(Duration outOfOrderness, Duration idleness, boolean perRecord) {
        long idleMillis = perRecord || idleness == null ? 0 : idleness.toMillis();
        return WatermarkStrategy.<Parsed>forGenerator(new Splits(outOfOrderness.toMillis(), idleMillis, perRecord))
                .withTimestampAssigner((SerializableTimestampAssigner<Parsed>) (p, recordTs) ->
                        p.txn != null ? p.txn.eventMillis()
                                : (p.srcTimestamp != Long.MIN_VALUE ? p.srcTimestamp : recordTs));
    }

    /** The group the raw source's splits align their watermarks in. */
    public static final String ALIGNMENT_GROUP = "raw-transactions";

    /**
     * Streaming, with the splits' watermarks aligned: a split whose watermark is more than {@code maxDrift}
     * ahead of the lowest is paused until the others catch up (null: not aligned).
     *
     * <p>Without it a backlog is read at each split's own pace: with three partitions over two source
     * subtasks, the subtask that owns one partition ran 9 event hours ahead of the other within 45 s of a
     * catch-up. The watermark is the lowest split's, so everything the fast split reads waits in the
     * engine's keyed state (pending decisions with their raw records) until the slow splits get there:
     * state, checkpoints and the cost of every state access grow with the drift, and the job slows down
     * the further it falls behind. Aligned, what waits is bounded by {@code maxDrift} of event time.
     */
    public static WatermarkStrategy<Parsed> transactions(Duration outOfOrderness, Duration idleness, Duration maxDrift) {
        WatermarkStrategy<Parsed> s = transactions(outOfOrderness, idleness, false);
        return maxDrift == null ? s : s.withWatermarkAlignment(ALIGNMENT_GROUP, maxDrift, Duration.ofSeconds(1));
    }

    /**
     * One generator per split. The supplier is deserialized once per source subtask, so the generators of
     * one reader's splits share {@link #splits} (all called from the subtask's one thread).
     */
    static final class Splits implements WatermarkGeneratorSupplier<Parsed> {
        private static final long serialVersionUID = 1L;
        private final long bound;
        private final long idleMillis;
        private final boolean perRecord;
        private transient List<Bounded> splits;

        Splits(long bound, long idleMillis, boolean perRecord) {
            this.bound = bound;
            this.idleMillis = idleMillis;
            this.perRecord = perRecord;
        }

        @Override
        public WatermarkGenerator<Parsed> createWatermarkGenerator(Context ctx) {
            if (splits == null) {
                splits = new ArrayList<>();
            }
            Bounded b = new Bounded(bound, perRecord, idleMillis, ctx.getInputActivityClock(), splits);
            splits.add(b);
            return b;
        }
    }

    /**
     * Like Flink's BoundedOutOfOrdernessWatermarks, but records that failed validation do not move the
     * watermark (a bad or far-future timestamp must not make every later event late), and with an idleness
     * timeout the split is flushed, then marked idle (see the class comment).
     */
    static final class Bounded implements WatermarkGenerator<Parsed> {
        enum State { ACTIVE, FLUSHED, IDLE }

        private final long bound;
        private final boolean perRecord;
        private final long idleMillis;
        private final RelativeClock clock;
        private final List<Bounded> reader;
        private long max = Long.MIN_VALUE;
        private long emitted = Long.MIN_VALUE;
        private long lastActivity;
        State state = State.ACTIVE;

        Bounded(long bound, boolean perRecord, long idleMillis, RelativeClock clock, List<Bounded> reader) {
            this.bound = bound;
            this.perRecord = perRecord;
            this.idleMillis = idleMillis;
            this.clock = clock;
            this.reader = reader;
            this.lastActivity = clock.relativeTimeMillis();
        }

        @Override
        public void onEvent(Parsed p, long ts, WatermarkOutput out) {
            if (p.txn == null) {
                return;
            }
            lastActivity = clock.relativeTimeMillis();
            // The next periodic emit re-announces the watermark, which makes the split active again.
            state = State.ACTIVE;
            if (ts > max) {
                max = ts;
                if (perRecord) {
                    emit(out, max - bound - 1);
                }
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput out) {
            if (perRecord) {
                return;
            }
            if (idleMillis > 0 && clock.relativeTimeMillis() - lastActivity >= idleMillis) {
                switch (state) {
                    case ACTIVE -> {
                        long target = flushTarget();
                        if (target > emitted) {
                            emit(out, target);
                        }
                        // Idle only at the next emit: a split that is idle when the reader combines its
                        // splits' watermarks no longer counts, and the flushed value would never get out.
                        state = State.FLUSHED;
                    }
                    case FLUSHED -> {
                        out.markIdle();
                        state = State.IDLE;
                    }
                    case IDLE -> { }
                }
                return;
            }
            if (max != Long.MIN_VALUE) {
                // Emitted every period even when not higher: that is what keeps (or makes) the split active.
                emit(out, Math.max(emitted, max - bound - 1));
            }
        }

        /**
         * The split's own highest event time; when every other split of the reader is idle already, the
         * highest watermark any of them reached, since the reader's watermark then stops at this one's.
         */
        private long flushTarget() {
            long t = max;
            for (Bounded s : reader) {
                if (s == this) {
                    continue;
                }
                if (s.state == State.ACTIVE) {
                    return Math.max(t, emitted);
                }
                t = Math.max(t, s.emitted);
            }
            return Math.max(t, emitted);
        }

        private void emit(WatermarkOutput out, long wm) {
            emitted = Math.max(emitted, wm);
            out.emitWatermark(new Watermark(wm));
        }
    }
}
