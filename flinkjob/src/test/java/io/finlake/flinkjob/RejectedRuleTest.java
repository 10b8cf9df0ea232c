package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Outputs;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.validate.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An alert-rules record the job cannot apply (here a velocity count above 2^31-1, which lakectl once accepted)
 * is dead-lettered with source topic alert-rules and the field and check, and the previous version stays in
 * force: the rejection is visible, not a silent skip.
 */
class RejectedRuleTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    private static final String FX = "{\"usd_per_unit\":{\"USD\":1},\"version\":1}";
    private KeyedBroadcastOperatorTestHarness<String, Txn, RuleUpdate, OutRecord> h;

    private static String velocity(long version, String count) {
        return "{\"rule_name\":\"rapid_activity\",\"rule_type\":\"velocity\",\"version\":" + version
                + ",\"enabled\":true,\"severity\":\"medium\",\"description\":\"fast\",\"params\":{\"count\":" + count
                + ",\"window\":\"1m\"}}";
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void unusableRuleUpdateIsDeadLetteredAndThePreviousVersionStaysInForce() throws Exception {
        Engine engine = new Engine(List.of(new RuleUpdate("rapid_activity", velocity(1, "2"), 0, 0),
                new RuleUpdate("_fx_rates", FX, 0, 1)), Map.of(0, 2L), Duration.ofHours(48), () -> NOW);
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(engine, t -> t.accountId, Types.STRING,
                Engine.RULES);
        h.processBroadcastWatermark(Long.MAX_VALUE);
        String bad = velocity(2, "2147483648");
        h.processBroadcastElement(new RuleUpdate("rapid_activity", bad, 0, 2), NOW);
        Validator v = new Validator(() -> NOW, false);
        for (String id : List.of("x1", "x2")) {
            Parsed p = v.parse(Fixtures.txn(Fixtures.id(id), "2025-01-01T12:00:0" + id.charAt(1) + "Z", "AC1", "5",
                    "USD").toString().getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, 0, NOW);
            h.processElement(p.txn, p.txn.eventMillis());
        }
        h.watermark(Long.MAX_VALUE);

        List<JsonNode> dead = new ArrayList<>();
        for (StreamRecord<OutRecord> r : h.getSideOutput(Outputs.DEAD_LETTERS)) {
            assertThat(new String(r.getValue().key, StandardCharsets.UTF_8)).isEqualTo("rapid_activity");
            dead.add(Fixtures.JSON.readTree(r.getValue().value));
        }
        assertThat(dead).hasSize(1);
        JsonNode d = dead.get(0);
        assertThat(d.get("source").get("topic").asText()).isEqualTo("alert-rules");
        assertThat(d.get("source").get("offset").asLong()).isEqualTo(2);
        assertThat(d.get("raw").asText()).isEqualTo(bad);
        assertThat(d.get("errors")).hasSize(1);
        JsonNode e = d.get("errors").get(0);
        assertThat(e.get("field").asText() + " " + e.get("rule").asText()).isEqualTo("params.count range");
        assertThat(e.get("expected").asText()).isEqualTo("an integer from 1 to 2147483647");
        assertThat(e.get("actual").asText()).isEqualTo("2147483648");

        List<String> alerts = new ArrayList<>();
        for (StreamRecord<OutRecord> r : h.getSideOutput(Outputs.ALERTS)) {
            JsonNode a = Fixtures.JSON.readTree(r.getValue().value);
            alerts.add(a.get("transaction_id").asText() + " v" + a.get("rule_version").asLong());
        }
        assertThat(alerts).containsExactly(Fixtures.id("x2") + " v1");
    }

    @Test
    void unusableRuleOnTheTopicBeforeTheStartIsDeadLetteredAndThePreviousVersionStaysInForce() throws Exception {
        String bad = velocity(2, "2147483648");
        Engine engine = new Engine(List.of(new RuleUpdate("rapid_activity", velocity(1, "2"), 0, 0),
                new RuleUpdate("_fx_rates", FX, 0, 1), new RuleUpdate("rapid_activity", bad, 0, 2)),
                Map.of(0, 3L), Duration.ofHours(48), () -> NOW);
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(engine, t -> t.accountId, Types.STRING,
                Engine.RULES);
        h.processBroadcastWatermark(Long.MAX_VALUE);
        Validator v = new Validator(() -> NOW, false);
        for (String id : List.of("y1", "y2")) {
            Parsed p = v.parse(Fixtures.txn(Fixtures.id(id), "2025-01-01T12:00:0" + id.charAt(1) + "Z", "AC1", "5",
                    "USD").toString().getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, 0, NOW);
            h.processElement(p.txn, p.txn.eventMillis());
        }
        // The broadcast input re-reads the topic from the start; its first record builds the broadcast state.
        h.processBroadcastElement(new RuleUpdate("rapid_activity", velocity(1, "2"), 0, 0), NOW);
        h.watermark(Long.MAX_VALUE);

        List<String> alerts = new ArrayList<>();
        for (StreamRecord<OutRecord> r : h.getSideOutput(Outputs.ALERTS)) {
            JsonNode a = Fixtures.JSON.readTree(r.getValue().value);
            alerts.add(a.get("transaction_id").asText() + " v" + a.get("rule_version").asLong());
        }
        List<Long> deadOffsets = new ArrayList<>();
        for (StreamRecord<OutRecord> r : h.getSideOutput(Outputs.DEAD_LETTERS)) {
            deadOffsets.add(Fixtures.JSON.readTree(r.getValue().value).get("source").get("offset").asLong());
        }
        assertThat(alerts + " dead letters at offsets " + deadOffsets)
                .isEqualTo(List.of(Fixtures.id("y2") + " v1") + " dead letters at offsets " + List.of(2L));
    }
}
