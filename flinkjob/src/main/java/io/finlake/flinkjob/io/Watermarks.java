package io.finlake.flinkjob.io;

import io.finlake.flinkjob.model.Parsed;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/** Event-time watermarks: bounded out-of-orderness over valid transactions only. */
public final class Watermarks {
    private Watermarks() {}

    /**
     * @param perRecord replay: emit after every record, so the watermark depends on file order alone;
     *     streaming emits periodically (pipeline.auto-watermark-interval) and marks idle splits
     */
    public static WatermarkStrategy<Parsed> transactions(Duration outOfOrderness, Duration idleness, boolean perRecord) {
        long bound = outOfOrderness.toMillis();
        WatermarkStrategy<Parsed> s = WatermarkStrategy.<Parsed>forGenerator(ctx -> new Bounded(bound, perRecord))
                .withTimestampAssigner((SerializableTimestampAssigner<Parsed>) (p, recordTs) ->
                        p.txn != null ? p.txn.eventMillis()
                                : (p.srcTimestamp != Long.MIN_VALUE ? p.srcTimestamp : recordTs));
        if (!perRecord && idleness != null && !idleness.isZero()) {
            s = s.withIdleness(idleness);
        }
        return s;
    }

    /**
     * For the rules input, which carries no event time: its watermark is always the maximum, so it never
     * holds back the transactions' watermark at the two-input engine.
     */
    public static <T> WatermarkStrategy<T> neverHoldBack() {
        return WatermarkStrategy.forGenerator(ctx -> new WatermarkGenerator<T>() {
            @Override
            public void onEvent(T event, long ts, WatermarkOutput out) {}

            @Override
            public void onPeriodicEmit(WatermarkOutput out) {
                out.emitWatermark(new Watermark(Long.MAX_VALUE));
            }
        });
    }

    /**
     * Like Flink's BoundedOutOfOrdernessWatermarks, but records that failed validation do not move the
     * watermark: a bad or far-future timestamp must not make every later event late.
     */
    static final class Bounded implements WatermarkGenerator<Parsed> {
        private final long bound;
        private final boolean perRecord;
        private long max = Long.MIN_VALUE;

        Bounded(long bound, boolean perRecord) {
            this.bound = bound;
            this.perRecord = perRecord;
        }

        @Override
        public void onEvent(Parsed p, long ts, WatermarkOutput out) {
            if (p.txn == null) {
                return;
            }
            if (ts > max) {
                max = ts;
                if (perRecord) {
                    out.emitWatermark(new Watermark(max - bound - 1));
                }
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput out) {
            if (!perRecord && max != Long.MIN_VALUE) {
                out.emitWatermark(new Watermark(max - bound - 1));
            }
        }
    }
}
