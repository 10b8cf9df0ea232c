package io.finlake.flinkjob;

import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.engine.EngineOperator;
import io.finlake.flinkjob.engine.RulesFirstOperator;
import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Outputs;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.validate.Route;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** The operator graph shared by the streaming job and replay: validate → keyBy(account) + rules → engine. */
public final class Pipeline {
    private Pipeline() {}

    /** The three output streams, each a record ready for its topic (or file). */
    public record Result(DataStream<OutRecord> processed, DataStream<OutRecord> alerts, DataStream<OutRecord> deadLetters) {}

    /**
     * @param bounded replay: the rules input is read to its end before any transaction (deterministic
     *     watermark); streaming reads both inputs as they come (input selection and checkpointing do not
     *     mix). In both the rules input carries no event time (see {@link EngineOperator}).
     * @param engineParallelism replay runs the source with parallelism 1 (file order) and the engine wider:
     *     each engine subtask still sees its accounts' records and the watermarks in file order
     */
    public static Result build(DataStream<Parsed> raw, DataStream<RuleUpdate> rules, Engine engine, Route route,
            boolean bounded, int engineParallelism) {
        SingleOutputStreamOperator<Txn> valid = raw.process(route, Txn.TYPE).uid("validate").name("validate");
        KeyedStream<Txn, String> byAccount = valid.keyBy(new AccountKey());
        // A broadcast-partitioned rules input into the keyed-broadcast operator (whose broadcast state is
        // declared by the operator), as BroadcastConnectedStream would wire it, but with our operator.
        SingleOutputStreamOperator<OutRecord> processed = byAccount.connect(rules.broadcast())
                .transform("rules-engine", Outputs.OUT_TYPE,
                        bounded ? new RulesFirstOperator(engine) : new EngineOperator(engine));
        processed.uid("rules-engine").name("rules-engine").setParallelism(engineParallelism);
        DataStream<OutRecord> dead = valid.getSideOutput(Outputs.DEAD_LETTERS)
                .union(processed.getSideOutput(Outputs.DEAD_LETTERS));
        return new Result(processed, processed.getSideOutput(Outputs.ALERTS), dead);
    }

    static final class AccountKey implements KeySelector<Txn, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Txn t) {
            return t.accountId;
        }
    }
}
