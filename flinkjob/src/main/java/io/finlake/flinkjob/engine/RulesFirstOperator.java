package io.finlake.flinkjob.engine;

import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import java.util.List;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.InputSelectable;
import org.apache.flink.streaming.api.operators.InputSelection;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;

/**
 * The engine's operator for bounded replay: Flink's keyed-broadcast operator, reading the (bounded) rules
 * input to its end before the first transaction. The rules input then holds the watermark at its maximum,
 * so timers fire exactly when the transactions' own watermark passes, at the same point of the file on
 * every run. Flink forbids input selection with checkpointing, so the streaming job uses the plain operator.
 */
public class RulesFirstOperator extends CoBroadcastWithKeyedOperator<String, Txn, RuleUpdate, OutRecord>
        implements InputSelectable, BoundedMultiInput {
    private static final long serialVersionUID = 1L;
    private boolean rulesDone;

    public RulesFirstOperator(Engine engine) {
        super(engine, List.of(Engine.RULES));
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
