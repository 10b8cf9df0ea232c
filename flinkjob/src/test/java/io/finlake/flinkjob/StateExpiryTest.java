package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.finlake.flinkjob.engine.AccountState;
import io.finlake.flinkjob.engine.Engine;
import io.finlake.flinkjob.model.OutRecord;
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
import java.util.Random;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's state expires by event time, driven by the watermark alone: an account that never sends
 * again is cleaned up all the same, and a time-compressed run reaches a steady state.
 */
class StateExpiryTest {
    private static final Instant T0 = Instant.parse("2026-01-05T12:00:00Z");
    /** The wall clock of the run: after every event time used, so none is "in the future". */
    private static final long NOW = Instant.parse("2026-03-01T00:00:00Z").toEpochMilli();
    private static final Duration TTL = Duration.ofHours(48);
    private static final String FX = "{\"usd_per_unit\":{\"USD\":1},\"version\":1}";

    private final Validator validator = new Validator(() -> NOW, false);
    private KeyedBroadcastOperatorTestHarness<String, Txn, RuleUpdate, OutRecord> h;

    private static String velocity() {
        return "{\"rule_name\":\"rapid_activity\",\"rule_type\":\"velocity\",\"version\":1,\"enabled\":true,"
                + "\"severity\":\"medium\",\"description\":\"fast\",\"params\":{\"count\":5,\"window\":\"1m\"}}";
    }

    private static String newCountry(String lookback) {
        return "{\"rule_name\":\"unusual_location\",\"rule_type\":\"new_country\",\"version\":1,\"enabled\":true,"
                + "\"severity\":\"medium\",\"description\":\"where\",\"params\":{\"min_history\":3,\"lookback\":\""
                + lookback + "\"}}";
    }

    private void start(String lookback) throws Exception {
        List<RuleUpdate> rules = List.of(new RuleUpdate("rapid_activity", velocity(), 0, 0),
                new RuleUpdate("unusual_location", newCountry(lookback), 0, 1), new RuleUpdate("_fx_rates", FX, 0, 2));
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(
                new Engine(rules, Map.of(0, (long) rules.size()), TTL, () -> NOW), t -> t.accountId, Types.STRING,
                Engine.RULES);
        h.processBroadcastWatermark(Long.MAX_VALUE);
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private void send(String id, Instant at, String account, String status) throws Exception {
        ObjectNode n = Fixtures.txn(id, at.toString(), account, "25", "USD");
        n.put("status", status);
        Parsed p = validator.parse(n.toString().getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, 0, NOW);
        assertThat(p.errors).as("valid test event").isNull();
        h.processElement(p.txn, p.txn.eventMillis());
    }

    private void watermark(Instant at) throws Exception {
        h.processWatermark(at.toEpochMilli());
    }

    private KeyedStateBackend<String> backend() {
        return h.getOperator().getKeyedStateBackend();
    }

    /** Lifecycle entries over all accounts. */
    private long lifecycleEntries() throws Exception {
        KeyedStateBackend<String> b = backend();
        List<String> keys = new ArrayList<>();
        b.getKeys(Engine.LIFECYCLE.getName(), VoidNamespace.INSTANCE).forEach(keys::add);
        long n = 0;
        for (String k : keys) {
            b.setCurrentKey(k);
            MapState<String, Long> m = b.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                    Engine.LIFECYCLE);
            for (String ignored : m.keys()) {
                n++;
            }
        }
        return n;
    }

    private AccountState account(String id) throws Exception {
        KeyedStateBackend<String> b = backend();
        b.setCurrentKey(id);
        ValueState<AccountState> v = b.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                Engine.ACCOUNT);
        return v.value();
    }

    @Test
    void quietAccountsLifecycleIsGoneOnceTheWatermarkPassesItsTtlAndTheAccountOnceItsLookbackPasses()
            throws Exception {
        start("30d");
        send(Fixtures.id("q1"), T0, "QUIET1", "pending");
        send(Fixtures.id("q1"), T0.plusSeconds(60), "QUIET1", "completed");
        // Other accounts keep the watermark moving; QUIET1 never sends again.
        Instant t = T0;
        for (int i = 0; t.isBefore(T0.plus(Duration.ofDays(32))); i++) {
            t = T0.plus(Duration.ofHours(6L * (i + 1)));
            send(Fixtures.id("busy" + i), t, "BUSY" + (i % 3), "pending");
            watermark(t.minusSeconds(2));
            if (t.equals(T0.plus(Duration.ofHours(48)))) {
                assertThat(account("QUIET1").lifecycleCount).as("lifecycle kept until its TTL has passed").isEqualTo(1);
            }
            if (t.equals(T0.plus(Duration.ofHours(54)))) {
                // TTL (48 h after the latest event) plus at most one cleanup bucket (1/48 of it).
                assertThat(account("QUIET1").lifecycleCount).as("lifecycle gone after its TTL").isZero();
                assertThat(account("QUIET1").countries).as("country history kept for the lookback").containsKey("US");
            }
        }
        assertThat(account("QUIET1")).as("the whole account, once its country is 30 d old").isNull();
        // Only the busy accounts' entries of the last 48 h (plus a bucket) remain.
        assertThat(lifecycleEntries()).isBetween(8L, 9L);
    }

    @Test
    void aMaximumWatermarkFromIdleInputsExpiresNoLifecycle() throws Exception {
        start("30d");
        send(Fixtures.id("m1"), T0, "ACCM", "pending");
        h.processWatermark(Long.MAX_VALUE); // every input idle, one of them at the maximum
        send(Fixtures.id("m1"), T0.plusSeconds(20), "ACCM", "completed");
        send(Fixtures.id("m1"), T0.plusSeconds(600), "ACCM", "reversed");
        assertThat(h.getSideOutput(io.finlake.flinkjob.model.Outputs.DEAD_LETTERS))
                .as("completed and reversed judged against the kept lifecycle").isNullOrEmpty();
        assertThat(account("ACCM").lifecycleCount).isEqualTo(1);
    }

    @Test
    void countryHistoryIsKeptForTheRulesLookbackAndNoLonger() throws Exception {
        start("7d");
        send(Fixtures.id("c1"), T0, "ACC7", "pending");
        send(Fixtures.id("other"), T0.plus(Duration.ofDays(7)).plus(Duration.ofHours(4)), "OTHER", "pending");
        watermark(T0.plus(Duration.ofDays(7)).plus(Duration.ofHours(4)));
        // 7 d lookback rounded up to its 3.5 h bucket: no 30-day floor any more.
        assertThat(account("ACC7")).isNull();
        assertThat(account("OTHER")).isNotNull();
    }

    @Test
    void threeCompressedDaysEndWithTheLifecycleOfTheLastTwoDays() throws Exception {
        start("30d");
        Random rnd = new Random(20261202);
        List<Long> times = new ArrayList<>();
        long t = T0.toEpochMilli();
        long end = T0.plus(Duration.ofDays(3)).toEpochMilli();
        int i = 0;
        while (t < end) {
            t += 1 + rnd.nextInt(120_000); // one transaction a minute on average, over 50 accounts
            Instant at = Instant.ofEpochMilli(t);
            String id = Fixtures.id("tx" + i);
            String acct = "ACC" + rnd.nextInt(50);
            send(id, at, acct, "pending");
            long latest = t;
            if (rnd.nextInt(4) > 0) {
                latest = t + 30_000; // most settle half a minute later
                send(id, Instant.ofEpochMilli(latest), acct, "completed");
            }
            times.add(latest);
            h.processWatermark(t - 2000);
            i++;
        }
        long wm = t - 2000;
        long lastTwoDays = times.stream().filter(x -> x + TTL.toMillis() > wm).count();
        long plusBucket = times.stream().filter(x -> x + TTL.toMillis() + Duration.ofHours(1).toMillis() > wm).count();
        assertThat(times.size()).as("three days of transactions").isGreaterThan((int) (lastTwoDays * 1.4));
        assertThat(lifecycleEntries()).as("lifecycle entries after 3 simulated days (TTL 48 h)")
                .isBetween(lastTwoDays, plusBucket);
    }
}
