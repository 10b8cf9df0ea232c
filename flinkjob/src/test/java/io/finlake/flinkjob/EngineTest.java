package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine operator driven record by record (Flink's operator test harness), for interleavings a file
 * cannot express: a rule changing between two transactions, and before a deferred decision.
 */
class EngineTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    private final Validator validator = new Validator(() -> NOW, false);
    private KeyedBroadcastOperatorTestHarness<String, Txn, RuleUpdate, OutRecord> h;
    private long offset;

    private static String threshold(long version, int amountUsd) {
        return "{\"rule_name\":\"high_value\",\"rule_type\":\"threshold\",\"version\":" + version
                + ",\"enabled\":true,\"severity\":\"high\",\"description\":\"big\",\"params\":{\"amount_usd\":"
                + amountUsd + "}}";
    }

    private static String velocity(long version, int count) {
        return "{\"rule_name\":\"rapid_activity\",\"rule_type\":\"velocity\",\"version\":" + version
                + ",\"enabled\":true,\"severity\":\"medium\",\"description\":\"fast\",\"params\":{\"count\":" + count
                + ",\"window\":\"1m\"}}";
    }

    private static final String FX = "{\"usd_per_unit\":{\"USD\":1,\"EUR\":1.08},\"version\":1}";

    private void start(RuleUpdate... initial) throws Exception {
        Engine engine = new Engine(List.of(initial), Map.of(0, (long) initial.length), Duration.ofHours(48), () -> NOW);
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(engine, t -> t.accountId, Types.STRING,
                Engine.RULES);
        h.processBroadcastWatermark(Long.MAX_VALUE);
        offset = initial.length;
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private void rule(String key, String json) throws Exception {
        h.processBroadcastElement(new RuleUpdate(key, json, 0, offset++), NOW);
    }

    private void send(ObjectNode n) throws Exception {
        Parsed p = validator.parse(n.toString().getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, 0, NOW);
        assertThat(p.errors).isNull();
        h.processElement(p.txn, p.txn.eventMillis());
    }

    private List<String> alerts() throws Exception {
        List<String> out = new ArrayList<>();
        var q = h.getSideOutput(Outputs.ALERTS);
        if (q != null) {
            for (StreamRecord<OutRecord> r : q) {
                JsonNode a = Fixtures.JSON.readTree(r.getValue().value);
                out.add(a.get("transaction_id").asText() + " " + a.get("rule_name").asText() + " v"
                        + a.get("rule_version").asLong());
            }
        }
        return out;
    }

    /** Collects the log lines of one logger. */
    private static final class Capture extends AbstractAppender {
        final List<String> lines = new CopyOnWriteArrayList<>();

        Capture() {
            super("capture", null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent e) {
            lines.add(e.getLevel() + " " + e.getMessage().getFormattedMessage());
        }
    }

    @Test
    void everyAlertAndDeadLetterIsLoggedWithWhereItCameFromAndNoAccountID() throws Exception {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        org.apache.logging.log4j.core.Logger log = ctx.getLogger(Engine.class.getName());
        Capture cap = new Capture();
        cap.start();
        log.addAppender(cap);
        Level before = log.getLevel();
        log.setLevel(Level.INFO);
        try {
            start(new RuleUpdate("high_value", threshold(1, 10000), 0, 0), new RuleUpdate("_fx_rates", FX, 0, 1));
            send(Fixtures.txn(Fixtures.id("a"), "2025-01-01T12:00:00Z", "AC1", "12000", "USD"));
            send(Fixtures.txn(Fixtures.id("a"), "2025-01-01T12:00:00Z", "AC1", "12000", "USD")); // a duplicate
            h.watermark(Long.MAX_VALUE);
        } finally {
            log.removeAppender(cap);
            log.setLevel(before);
        }
        assertThat(cap.lines).anyMatch(l -> l.startsWith("INFO alert: rule high_value v1 (high) on transaction "
                + Fixtures.id("a") + " from raw-transactions/0@"));
        assertThat(cap.lines).anyMatch(l -> l.startsWith("WARN dead letter: transaction " + Fixtures.id("a")
                + " from raw-transactions/0@") && l.contains("status:"));
        assertThat(cap.lines).noneMatch(l -> l.contains("AC1"));
    }

    @Test
    void ruleUpdateMidStreamChangesOnlyLaterTransactions() throws Exception {
        start(new RuleUpdate("high_value", threshold(1, 10000), 0, 0), new RuleUpdate("_fx_rates", FX, 0, 1));
        send(Fixtures.txn(Fixtures.id("a"), "2025-01-01T12:00:00Z", "AC1", "12000", "USD"));
        rule("high_value", threshold(2, 20000));
        ObjectNode aCompleted = Fixtures.txn(Fixtures.id("a"), "2025-01-01T12:00:00Z", "AC1", "12000", "USD");
        aCompleted.put("status", "completed");
        send(aCompleted);
        send(Fixtures.txn(Fixtures.id("b"), "2025-01-01T12:00:01Z", "AC2", "12000", "USD"));
        send(Fixtures.txn(Fixtures.id("c"), "2025-01-01T12:00:02Z", "AC3", "25000", "USD"));
        h.watermark(Long.MAX_VALUE);
        assertThat(alerts()).containsExactly(Fixtures.id("a") + " high_value v1", Fixtures.id("c") + " high_value v2");
    }

    @Test
    void deferredDecisionUsesTheRuleInForceWhenTheEventArrived() throws Exception {
        start(new RuleUpdate("rapid_activity", velocity(1, 3), 0, 0), new RuleUpdate("_fx_rates", FX, 0, 1));
        // Two transactions, then a third out of order: at its arrival only 2 are in its window...
        send(Fixtures.txn(Fixtures.id("v1"), "2025-01-01T12:00:00.000Z", "ACV", "5", "USD"));
        send(Fixtures.txn(Fixtures.id("v3"), "2025-01-01T12:00:02.000Z", "ACV", "5", "USD"));
        send(Fixtures.txn(Fixtures.id("v2"), "2025-01-01T12:00:01.000Z", "ACV", "5", "USD"));
        // ...v3 waits for the watermark; the rule tightens to 2 meanwhile, which applies to later events only.
        rule("rapid_activity", velocity(2, 2));
        send(Fixtures.txn(Fixtures.id("v4"), "2025-01-01T12:00:10.000Z", "ACV", "5", "USD"));
        h.watermark(Long.MAX_VALUE);
        assertThat(alerts()).containsExactlyInAnyOrder(Fixtures.id("v3") + " rapid_activity v1",
                Fixtures.id("v4") + " rapid_activity v2");
    }

    @Test
    void deletedRuleNoLongerFiresAndReaddedRuleDoes() throws Exception {
        start(new RuleUpdate("high_value", threshold(1, 10000), 0, 0), new RuleUpdate("_fx_rates", FX, 0, 1));
        rule("high_value", null);
        send(Fixtures.txn(Fixtures.id("d1"), "2025-01-01T12:00:00Z", "AC1", "12000", "USD"));
        rule("high_value", threshold(3, 10000));
        send(Fixtures.txn(Fixtures.id("d2"), "2025-01-01T12:00:01Z", "AC2", "12000", "EUR"));
        h.watermark(Long.MAX_VALUE);
        assertThat(alerts()).containsExactly(Fixtures.id("d2") + " high_value v3");
    }

    @Test
    void recordsAlreadyInTheStartSnapshotAreNotAppliedAgain() throws Exception {
        // The snapshot read at start holds v2; the broadcast input replays the topic from offset 0 (v1, v2).
        Engine engine = new Engine(List.of(new RuleUpdate("high_value", threshold(1, 10000), 0, 0),
                new RuleUpdate("high_value", threshold(2, 20000), 0, 1), new RuleUpdate("_fx_rates", FX, 0, 2)),
                Map.of(0, 3L), Duration.ofHours(48), () -> NOW);
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(engine, t -> t.accountId, Types.STRING,
                Engine.RULES);
        h.processBroadcastWatermark(Long.MAX_VALUE);
        h.processBroadcastElement(new RuleUpdate("high_value", threshold(1, 10000), 0, 0), NOW);
        send(Fixtures.txn(Fixtures.id("s1"), "2025-01-01T12:00:00Z", "AC1", "15000", "USD"));
        h.processBroadcastElement(new RuleUpdate("high_value", threshold(2, 20000), 0, 1), NOW);
        send(Fixtures.txn(Fixtures.id("s2"), "2025-01-01T12:00:01Z", "AC2", "25000", "USD"));
        h.watermark(Long.MAX_VALUE);
        assertThat(alerts()).containsExactly(Fixtures.id("s2") + " high_value v2");
    }
}
