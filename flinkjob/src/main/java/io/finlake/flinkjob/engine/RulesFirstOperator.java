package io.finlake.flinkjob.engine;

import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.InputSelectable;
import org.apache.flink.streaming.api.operators.InputSelection;

/**
 * The engine's operator for bounded replay: reads the (bounded) rules input to its end before the first
 * transaction. As in streaming, the rules input carries no event time, so timers fire exactly when the
 * transactions' own watermark passes, at the same point of the file on every run. Flink forbids input
 * selection with checkpointing, so the streaming job uses {@link EngineOperator} itself.
 */
public class RulesFirstOperator extends EngineOperator implements InputSelectable, BoundedMultiInput {
    private static final long serialVersionUID = 1L;
    private boolean rulesDone;

    public RulesFirstOperator(Engine engine) {
        super(engine);
    }

    @Override
    public InputSelection nextSelection() {
        return rulesDone ? InputSelection.ALL : InputSelection.SECOND;
    }

    @Override
    public void endInput(int inputId) {
        if (inputId == 2) {
            rulesDone = true;
        }
    }
}
