package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.engine.EngineOperator;
import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.validate.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The engine operator (the one both jobs run) passes its watermark on to the sinks sparingly, as replay
 * advances it after nearly every record, while its own event-time timers still fire at every advance.
 */
class EngineWatermarkForwardingTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();

    @Test
    void timersFireAtEveryWatermarkWhileFewWatermarksAndTheFinalOneReachTheSinks() throws Exception {
        String velocity = "{\"rule_name\":\"rapid_activity\",\"rule_type\":\"velocity\",\"version\":1,\"enabled\":true,"
                + "\"severity\":\"medium\",\"description\":\"fast\",\"params\":{\"count\":5,\"window\":\"1m\"}}";
        String fx = "{\"usd_per_unit\":{\"USD\":1},\"version\":1}";
        List<RuleUpdate> rules = List.of(new RuleUpdate("rapid_activity", velocity, 0, 0), new RuleUpdate("_fx_rates", fx, 0, 1));
        Engine engine = new Engine(rules, Map.of(0, 2L), Duration.ofHours(48), () -> NOW);
        Validator validator = new Validator(() -> NOW, false);
        int n = 2_000;
        try (KeyedBroadcastOperatorTestHarness<String, Txn, RuleUpdate, OutRecord> h =
                new KeyedBroadcastOperatorTestHarness<>(new EngineOperator(engine), t -> t.accountId, Types.STRING, 128, 1, 0)) {
            h.open();
            long t0 = Instant.parse("2025-01-01T12:00:00Z").toEpochMilli();
            for (int i = 0; i < n; i++) {
                String ts = Instant.ofEpochMilli(t0 + i * 1000L).toString();
                Parsed p = validator.parse(Fixtures.txn(Fixtures.id("w" + i), ts, "AC" + (i % 50), "5", "USD").toString()
                        .getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, i, NOW);
                h.processElement(p.txn, p.txn.eventMillis());
                // A watermark after every record, as replay emits them: each passes the record before, not its own.
                h.processWatermark(t0 + i * 1000L - 1);
            }
            // Each transaction was decided when the next watermark passed it: all but the last.
            assertThat(processed(h)).as("transactions decided before the end").isEqualTo(n - 1);
            h.processWatermark(Long.MAX_VALUE);
            assertThat(processed(h)).as("transactions decided at the end").isEqualTo(n);
            List<Long> marks = h.getOutput().stream().filter(o -> o instanceof Watermark)
                    .map(o -> ((Watermark) o).getTimestamp()).toList();
            assertThat(marks.size()).as("watermarks forwarded of %d", n + 1).isLessThan(n / 10);
            assertThat(marks.get(marks.size() - 1)).as("the final watermark").isEqualTo(Long.MAX_VALUE);
        }
    }

    private static long processed(KeyedBroadcastOperatorTestHarness<String, Txn, RuleUpdate, OutRecord> h) {
        return h.getOutput().stream().filter(o -> o instanceof StreamRecord).count();
    }
}
