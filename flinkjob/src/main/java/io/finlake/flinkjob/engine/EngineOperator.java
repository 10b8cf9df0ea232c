package io.finlake.flinkjob.engine;

import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import java.util.List;
import org.apache.flink.runtime.event.WatermarkEvent;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.LatencyMarker;
import org.apache.flink.streaming.runtime.streamrecord.RecordAttributes;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.util.OutputTag;

/**
 * The engine's operator: Flink's keyed-broadcast operator whose event time is the transactions' alone.
 *
 * <p>The rules input (input 2) carries no event time. Flink combines a two-input operator's watermark as
 * the minimum over its non-idle inputs, so a rules input that stood "active at the maximum" became the
 * engine's event time whenever every transaction split was idle, and every later event counted as late.
 * Here the rules input is idle from the start and stays so: its watermarks and status changes are
 * ignored. When the transactions input is idle too, the operator is idle and its event time stands still
 * until transactions move it again.
 *
 * <p>Its outputs go to sinks only, which do not use event time, so the watermark is passed downstream at
 * most every {@link #FORWARD_EVERY_NANOS} of processing time (and always the final one) instead of at every
 * change: replay advances it after nearly every record, and each change forwarded is one more event
 * serialized for, sent to and handled by every sink. Timers still fire at every change.
 */
public class EngineOperator extends CoBroadcastWithKeyedOperator<String, Txn, RuleUpdate, OutRecord> {
    private static final long serialVersionUID = 1L;
    /** Index of the rules input in the operator's combined watermark (0 = transactions). */
    private static final int RULES_INPUT = 1;
    /** Longest the watermark downstream lags the engine's (while watermarks arrive). */
    static final long FORWARD_EVERY_NANOS = 200_000_000L;

    public EngineOperator(Engine engine) {
        super(engine, List.of(Engine.RULES));
    }

    @Override
    public void open() throws Exception {
        // Before super.open(): the collector of the user function is built on this output.
        output = new ThrottledWatermarks<>(output);
        super.open();
        // The transactions input is still at Long.MIN_VALUE, so this cannot move the combined watermark.
        combinedWatermark.updateStatus(RULES_INPUT, true);
    }

    @Override
    public void processWatermark2(Watermark mark) {
        // Setting a watermark would mark the rules input active again: drop it (replay's bounded rules
        // input ends with Long.MAX_VALUE, which must not stand for event time either).
    }

    @Override
    protected void processWatermarkStatus(WatermarkStatus status, int index) throws Exception {
        if (index != RULES_INPUT) {
            super.processWatermarkStatus(status, index);
        }
    }

    /** Passes everything through but the watermark, which at most every {@link #FORWARD_EVERY_NANOS}. */
    static final class ThrottledWatermarks<T> implements Output<StreamRecord<T>> {
        private final Output<StreamRecord<T>> out;
        private long lastForward = System.nanoTime() - FORWARD_EVERY_NANOS;

        ThrottledWatermarks(Output<StreamRecord<T>> out) {
            this.out = out;
        }

        @Override
        public void emitWatermark(Watermark mark) {
            long now = System.nanoTime();
            if (now - lastForward >= FORWARD_EVERY_NANOS || mark.getTimestamp() == Long.MAX_VALUE) {
                lastForward = now;
                out.emitWatermark(mark);
            }
        }

        @Override
        public void emitWatermarkStatus(WatermarkStatus status) {
            out.emitWatermarkStatus(status);
        }

        @Override
        public <X> void collect(OutputTag<X> tag, StreamRecord<X> record) {
            out.collect(tag, record);
        }

        @Override
        public void collect(StreamRecord<T> record) {
            out.collect(record);
        }

        @Override
        public void emitLatencyMarker(LatencyMarker marker) {
            out.emitLatencyMarker(marker);
        }

        @Override
        public void emitRecordAttributes(RecordAttributes attributes) {
            out.emitRecordAttributes(attributes);
        }

        @Override
        public void emitWatermark(WatermarkEvent event) {
            out.emitWatermark(event);
        }

        @Override
        public void close() {
            out.close();
        }
    }
}
