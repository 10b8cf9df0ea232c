package io.finlake.flinkjob.validate;

import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Outputs;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.model.WallClock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sends records that failed the stateless checks to dead-letter and passes valid transactions on. */
public class Route extends ProcessFunction<Parsed, Txn> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(Route.class);
    private final WallClock wallClock;
    private transient Json.Writer json;
    private transient MetricGroup group;
    private transient Map<String, Counter> invalid;
    private transient Counter deadLettered;

    public Route(WallClock wallClock) {
        this.wallClock = wallClock;
    }

    @Override
    public void open(OpenContext ctx) {
        json = new Json.Writer();
        group = getRuntimeContext().getMetricGroup().addGroup("finlake");
        invalid = new HashMap<>();
        deadLettered = group.counter("invalid_records");
    }

    @Override
    public void processElement(Parsed p, Context ctx, Collector<Txn> out) {
        if (p.txn != null) {
            out.collect(p.txn);
            return;
        }
        deadLettered.inc();
        for (ErrorDetail e : p.errors) {
            invalid.computeIfAbsent(e.rule, r -> group.counter("invalid_" + r)).inc();
        }
        LOG.warn("dead letter: record from {}/{}@{} failed {}", p.srcTopic, p.srcPartition, p.srcOffset,
                DeadLetters.failedChecks(Arrays.asList(p.errors)));
        ctx.output(Outputs.DEAD_LETTERS, new OutRecord(p.key,
                DeadLetters.write(json, Arrays.asList(p.errors), p.raw, null, p.srcTopic, p.srcPartition, p.srcOffset,
                        p.srcTimestamp, wallClock.getAsLong()),
                p.srcTimestamp));
    }
}
