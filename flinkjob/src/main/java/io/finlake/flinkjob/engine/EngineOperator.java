package io.finlake.flinkjob.engine;

import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import java.util.List;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;

/**
 * The engine's operator: Flink's keyed-broadcast operator whose event time is the transactions' alone.
 *
 * <p>The rules input (input 2) carries no event time. Flink combines a two-input operator's watermark as
 * the minimum over its non-idle inputs, so a rules input that stood "active at the maximum" became the
 * engine's event time whenever every transaction split was idle, and every later event counted as late.
 * Here the rules input is idle from the start and stays so: its watermarks and status changes are
 * ignored. When the transactions input is idle too, the operator is idle and its event time stands still
 * until transactions move it again.
 */
public class EngineOperator extends CoBroadcastWithKeyedOperator<String, Txn, RuleUpdate, OutRecord> {
    private static final long serialVersionUID = 1L;
    /** Index of the rules input in the operator's combined watermark (0 = transactions). */
    private static final int RULES_INPUT = 1;

    public EngineOperator(Engine engine) {
        super(engine, List.of(Engine.RULES));
    }

    @Override
    public void open() throws Exception {
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
}
