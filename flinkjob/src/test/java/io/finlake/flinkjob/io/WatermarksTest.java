package io.finlake.flinkjob.io;

import static org.assertj.core.api.Assertions.assertThat;

import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.Txn;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * The per-split generator's idleness rule, driven period by period with a manual clock (bound 2 s,
 * idleness 5 s): what each split emits is what Flink's source then combines.
 */
class WatermarksTest {
    private final ManualClock clock = new ManualClock();
    private final List<Watermarks.Bounded> reader = new ArrayList<>();

    /** What one split's generator said: watermarks as numbers, "idle" for markIdle. */
    static final class Said implements WatermarkOutput {
        final List<Object> events = new ArrayList<>();

        @Override
        public void emitWatermark(Watermark w) {
            events.add(w.getTimestamp());
        }

        @Override
        public void markIdle() {
            events.add("idle");
        }

        @Override
        public void markActive() {
            events.add("active");
        }

        Object last() {
            return events.get(events.size() - 1);
        }
    }

    private Watermarks.Bounded split() {
        Watermarks.Bounded b = new Watermarks.Bounded(2000, false, 5000, clock, reader);
        reader.add(b);
        return b;
    }

    private static Parsed valid() {
        Parsed p = new Parsed();
        p.txn = new Txn();
        return p;
    }

    private void advance(long millis) {
        clock.advanceTime(java.time.Duration.ofMillis(millis));
    }

    @Test
    void aQuietSplitIsFlushedToItsHighestTimestampThenIdle() {
        Watermarks.Bounded s = split();
        Said out = new Said();
        s.onEvent(valid(), 100_000, out);
        s.onPeriodicEmit(out);
        assertThat(out.last()).isEqualTo(100_000L - 2001);
        advance(5000);
        s.onPeriodicEmit(out);
        assertThat(out.last()).as("flushed").isEqualTo(100_000L);
        s.onPeriodicEmit(out);
        assertThat(out.last()).as("then idle").isEqualTo("idle");
        s.onPeriodicEmit(out);
        assertThat(out.events).as("idle once").containsExactly(100_000L - 2001, 100_000L, "idle");
    }

    @Test
    void theNextTransactionReactivatesWithoutMovingTheWatermarkBack() {
        Watermarks.Bounded s = split();
        Said out = new Said();
        s.onEvent(valid(), 100_000, out);
        advance(5000);
        s.onPeriodicEmit(out);
        s.onPeriodicEmit(out);
        assertThat(out.last()).isEqualTo("idle");
        s.onEvent(valid(), 101_000, out);
        s.onPeriodicEmit(out);
        // Re-announced at the flushed value: that makes the split active, and nothing goes back.
        assertThat(out.last()).isEqualTo(100_000L);
        s.onEvent(valid(), 110_000, out);
        s.onPeriodicEmit(out);
        assertThat(out.last()).isEqualTo(110_000L - 2001);
    }

    @Test
    void theLastActiveSplitOfAReaderFlushesToTheHighestOfItsIdleSiblings() {
        Watermarks.Bounded a = split();
        Watermarks.Bounded b = split();
        Said oa = new Said();
        Said ob = new Said();
        a.onEvent(valid(), 200_000, oa);
        b.onEvent(valid(), 150_000, ob);
        advance(1000);
        b.onEvent(valid(), 150_500, ob); // b stays active a second longer
        advance(4000);
        a.onPeriodicEmit(oa);
        b.onPeriodicEmit(ob);
        assertThat(oa.last()).as("a, while b is active: its own highest").isEqualTo(200_000L);
        a.onPeriodicEmit(oa);
        assertThat(oa.last()).isEqualTo("idle");
        advance(1000);
        b.onPeriodicEmit(ob);
        assertThat(ob.last()).as("b, the last active one: its idle sibling's flushed value").isEqualTo(200_000L);
    }

    @Test
    void invalidRecordsNeitherMoveTheWatermarkNorCountAsActivity() {
        Watermarks.Bounded s = split();
        Said out = new Said();
        s.onEvent(valid(), 100_000, out);
        advance(4000);
        s.onEvent(new Parsed(), 999_999_999, out);
        advance(1000);
        s.onPeriodicEmit(out);
        assertThat(out.events).containsExactly(100_000L);
    }

    @Test
    void replayEmitsAfterEveryRecordAndIsNeverIdle() {
        Watermarks.Bounded s = new Watermarks.Bounded(2000, true, 0, clock, reader);
        Said out = new Said();
        s.onEvent(valid(), 100_000, out);
        s.onEvent(valid(), 99_000, out);
        s.onEvent(valid(), 101_000, out);
        advance(60_000);
        s.onPeriodicEmit(out);
        assertThat(out.events).containsExactly(100_000L - 2001, 101_000L - 2001);
    }
}
