package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The replay job end to end on a MiniCluster: outputs, dead letters, and event-time behaviour. */
class ReplayTest {
    @RegisterExtension
    static final MiniClusterExtension MINI = ReplayHarness.miniCluster();

    @TempDir
    Path tmp;

    private final Path rules = Fixtures.repoRoot().resolve("config/rules.yaml");
    private final Path fx = Fixtures.repoRoot().resolve("config/fx_rates.yaml");

    @Test
    void everyMalformedKindLandsInDeadLetterWithItsError() throws Exception {
        String ts = "2025-05-05T12:00:00.000Z";
        ObjectNode ok = Fixtures.txn(Fixtures.id("ok"), ts, "ACOK1", "20.00", "USD");
        List<byte[]> lines = new ArrayList<>();
        Map<Integer, String> expect = new HashMap<>();
        lines.add(bytes(ok)); // 0 valid pending
        ObjectNode missing = Fixtures.txn(Fixtures.id("m"), ts, "ACM", "20.00", "USD");
        missing.remove("merchant_name");
        expect.put(lines.size(), "merchant_name:required");
        lines.add(bytes(missing));
        ObjectNode nul = Fixtures.txn(Fixtures.id("n"), ts, "ACN", "20.00", "USD");
        nul.putNull("currency");
        expect.put(lines.size(), "currency:not_null");
        lines.add(bytes(nul));
        ObjectNode zero = Fixtures.txn(Fixtures.id("z"), ts, "ACZ", "0", "USD");
        expect.put(lines.size(), "amount:non_zero");
        lines.add(bytes(zero));
        ObjectNode cur = Fixtures.txn(Fixtures.id("c"), ts, "ACC", "20.00", "US$");
        expect.put(lines.size(), "currency:iso4217");
        lines.add(bytes(cur));
        ObjectNode en = Fixtures.txn(Fixtures.id("e"), ts, "ACE", "20.00", "USD");
        en.put("merchant_category", "food_and_drink");
        expect.put(lines.size(), "merchant_category:enum");
        lines.add(bytes(en));
        ObjectNode uuid = Fixtures.txn("txn-42", ts, "ACU", "20.00", "USD");
        expect.put(lines.size(), "transaction_id:uuid");
        lines.add(bytes(uuid));
        ObjectNode badTs = Fixtures.txn(Fixtures.id("t"), "26/11/2026 10:15:00", "ACT", "20.00", "USD");
        expect.put(lines.size(), "timestamp:iso8601");
        lines.add(bytes(badTs));
        ObjectNode future = Fixtures.txn(Fixtures.id("f"), "2126-11-26T10:15:00.000Z", "ACF", "20.00", "USD");
        expect.put(lines.size(), "timestamp:not_future");
        lines.add(bytes(future));
        expect.put(lines.size(), "$:json");
        lines.add("ERROR upstream timeout after 30000 ms".getBytes(StandardCharsets.UTF_8));
        int binary = lines.size();
        expect.put(binary, "$:utf8");
        byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 0x00, 0x01, (byte) 0xc3, 0x28};
        lines.add(notUtf8);
        ObjectNode reversedFirst = Fixtures.txn(Fixtures.id("r"), ts, "ACR", "20.00", "USD");
        reversedFirst.put("status", "reversed");
        expect.put(lines.size(), "status:invalid_transition");
        lines.add(bytes(reversedFirst));
        ObjectNode completed = ok.deepCopy();
        completed.put("status", "completed");
        lines.add(bytes(completed)); // valid pending -> completed
        ObjectNode failedAfterCompleted = ok.deepCopy();
        failedAfterCompleted.put("status", "failed");
        expect.put(lines.size(), "status:invalid_transition");
        lines.add(bytes(failedAfterCompleted));
        expect.put(lines.size(), "status:duplicate");
        lines.add(bytes(completed));
        expect.put(lines.size(), "status:duplicate");
        lines.add(bytes(ok));
        ObjectNode chf = Fixtures.txn(Fixtures.id("chf"), ts, "ACCHF", "20.00", "CHF");
        expect.put(lines.size(), "currency:fx_rate");
        lines.add(bytes(chf));

        Path in = tmp.resolve("in.jsonl");
        try (var out = Files.newOutputStream(in)) {
            for (byte[] l : lines) {
                out.write(l);
                out.write('\n');
            }
        }
        ReplayHarness.Output out = ReplayHarness.replay(in, rules, fx, tmp.resolve("out"));

        Map<Integer, String> got = new HashMap<>();
        for (JsonNode d : out.deadLetters()) {
            int offset = d.get("source").get("offset").asInt();
            assertThat(d.get("source").get("topic").asText()).isEqualTo("replay");
            assertThat(d.get("source").get("partition").asInt()).isZero();
            assertThat(d.get("dead_lettered_at").asText()).isNotEmpty();
            for (JsonNode e : d.get("errors")) {
                assertThat(e.get("expected").asText()).isNotEmpty();
                assertThat(e.has("actual")).isTrue();
            }
            got.put(offset, d.get("errors").get(0).get("field").asText() + ":" + d.get("errors").get(0).get("rule").asText());
            if (offset == binary) {
                assertThat(d.has("raw")).isFalse();
                assertThat(Base64.getDecoder().decode(d.get("raw_base64").asText())).isEqualTo(notUtf8);
            } else {
                assertThat(d.get("raw").asText().getBytes(StandardCharsets.UTF_8)).isEqualTo(lines.get(offset));
            }
        }
        assertThat(got).isEqualTo(expect);
        assertThat(out.processed()).hasSize(2);
        assertThat(out.summary().records()).isEqualTo(lines.size());
    }

    @Test
    void enrichedRecordCarriesEveryFieldAndRoundsUsdHalfEven() throws Exception {
        Path in = tmp.resolve("in.jsonl");
        // Exact USD values on a tie: 1.50 GBP x 1.27 = 1.905, 150 JPY x 0.0067 = 1.005, 0.50 GBP x 1.27 = 0.635.
        // Half-even gives 1.90, 1.00, 0.64; half-up would give 1.91, 1.01, 0.64.
        ObjectNode a = Fixtures.txn(Fixtures.id("a"), "2025-05-05T23:59:59.999-01:00", "ACH1", "1.50", "GBP");
        ObjectNode b = Fixtures.txn(Fixtures.id("b"), "2025-05-05T12:00:00.000Z", "ACH2", "150", "JPY");
        ObjectNode c = Fixtures.txn(Fixtures.id("c"), "2025-05-05T12:00:01.000Z", "ACH3", "0.50", "GBP");
        Fixtures.writeJsonl(in, List.of(a, b, c));
        ReplayHarness.Output out = ReplayHarness.replay(in, rules, fx, tmp.resolve("out"));
        assertThat(out.deadLetters()).isEmpty();
        Map<String, JsonNode> byId = new HashMap<>();
        out.processed().forEach(p -> byId.put(p.get("transaction_id").asText(), p));
        JsonNode pa = byId.get(Fixtures.id("a"));
        assertThat(pa.get("amount_usd").decimalValue().toPlainString()).isEqualTo("1.90");
        assertThat(pa.get("amount").decimalValue().toPlainString()).isEqualTo("1.50");
        assertThat(pa.get("partition_date").asText()).isEqualTo("2025-05-06");
        assertThat(pa.get("is_flagged").asBoolean()).isFalse();
        assertThat(Instant.parse(pa.get("processing_timestamp").asText())).isAfter(Instant.parse("2025-05-06T00:00:00Z"));
        for (String f : List.of("transaction_id", "timestamp", "account_id", "amount", "currency", "merchant_name",
                "merchant_category", "transaction_type", "location_country", "status", "amount_usd",
                "processing_timestamp", "partition_date", "is_flagged")) {
            assertThat(pa.has(f)).as(f).isTrue();
        }
        assertThat(byId.get(Fixtures.id("b")).get("amount_usd").decimalValue().toPlainString()).isEqualTo("1.00");
        assertThat(byId.get(Fixtures.id("c")).get("amount_usd").decimalValue().toPlainString()).isEqualTo("0.64");
    }

    /**
     * Money is never silently changed: every amount the lake could not hold exactly (more decimals than the
     * currency has, beyond decimal(18,2), amount_usd beyond it, a string) is dead-lettered with field, rule,
     * expected and actual; amounts judged by value, not text, pass through digit for digit.
     */
    @Test
    void amountsThatCannotTravelExactlyAreDeadLetteredAndTheRestPassDigitForDigit() throws Exception {
        String range = "at most 9999999999999999.99 in magnitude (the lake's decimal(18,2))";
        List<String> lines = new ArrayList<>();
        Map<Integer, List<String>> expect = new HashMap<>();
        expect.put(lines.size(), List.of("amount minor_units|at most 2 decimals (the minor unit of USD)|10.005"));
        lines.add(amountLine("usd3", "10.005", "USD", "purchase"));
        expect.put(lines.size(), List.of("amount minor_units|at most 0 decimals (the minor unit of JPY)|1000.5"));
        lines.add(amountLine("jpy1", "1000.5", "JPY", "purchase"));
        expect.put(lines.size(), List.of("amount range|" + range + "|12345678901234567"));
        lines.add(amountLine("big", "12345678901234567", "USD", "purchase"));
        expect.put(lines.size(), List.of("amount minor_units|at most 2 decimals (the minor unit of EUR)|-0.001"));
        lines.add(amountLine("refund", "-0.001", "EUR", "refund"));
        expect.put(lines.size(), List.of("amount_usd range|" + range + "|11430000000000000.00"));
        lines.add(amountLine("usdbig", "9000000000000000.00", "GBP", "purchase"));
        expect.put(lines.size(), List.of("amount decimal|a JSON number|\"10.00\""));
        lines.add(amountLine("text", "\"10.00\"", "USD", "purchase"));
        int firstValid = lines.size();
        lines.add(amountLine("trail", "10.500", "USD", "purchase"));
        lines.add(amountLine("jpy0", "1000.0", "JPY", "purchase"));
        lines.add(amountLine("exp", "1E+3", "JPY", "purchase"));
        lines.add(amountLine("fx-max", "9999999999999999.99", "USD", "purchase"));
        Path in = tmp.resolve("in.jsonl");
        Fixtures.writeJsonl(in, lines);
        ReplayHarness.Output out = ReplayHarness.replay(in, rules, fx, tmp.resolve("out"));

        Map<Integer, List<String>> got = new HashMap<>();
        for (JsonNode d : out.deadLetters()) {
            List<String> errs = new ArrayList<>();
            for (JsonNode e : d.get("errors")) {
                errs.add(e.get("field").asText() + " " + e.get("rule").asText() + "|" + e.get("expected").asText() + "|"
                        + e.get("actual").asText());
            }
            got.put(d.get("source").get("offset").asInt(), errs);
        }
        assertThat(got).isEqualTo(expect);
        Map<String, String> amounts = new HashMap<>();
        for (JsonNode p : out.processed()) {
            amounts.put(p.get("transaction_id").asText(), p.get("amount").decimalValue().toPlainString() + " "
                    + p.get("amount_usd").decimalValue().toPlainString());
        }
        assertThat(amounts).isEqualTo(Map.of(Fixtures.id("trail"), "10.500 10.50", Fixtures.id("jpy0"), "1000.0 6.70",
                Fixtures.id("exp"), "1000 6.70", Fixtures.id("fx-max"), "9999999999999999.99 9999999999999999.99"));
        assertThat(out.processed()).hasSize(lines.size() - firstValid);
        // alert_id pinned to uuid5(4ccaa009-..., "f7db647b-969f-3bc1-9da2-c47bd1fc2b15:high_value") from Python.
        assertThat(out.alerts()).singleElement().satisfies(a -> assertThat(a.get("alert_id").asText())
                .isEqualTo("37efbb03-6a64-5aaf-bfc0-0b6ce070aa3b"));
    }

    /** A first event with {@code amountText} written verbatim as the amount. */
    private static String amountLine(String name, String amountText, String currency, String type) {
        ObjectNode n = Fixtures.txn(Fixtures.id(name), "2025-05-05T12:00:00.000Z", "AC" + Math.abs(name.hashCode()), "1",
                currency);
        n.put("transaction_type", type);
        String s = n.toString();
        assertThat(s).contains("\"amount\":1,");
        return s.replace("\"amount\":1,", "\"amount\":" + amountText + ",");
    }

    @Test
    void laterEventsOfAFlaggedTransactionStayFlaggedWithoutNewAlerts() throws Exception {
        Path in = tmp.resolve("in.jsonl");
        ObjectNode p = Fixtures.txn(Fixtures.id("big"), "2025-05-05T12:00:00.000Z", "ACBIG", "20000.00", "USD");
        ObjectNode c = p.deepCopy();
        c.put("status", "completed");
        ObjectNode r = p.deepCopy();
        r.put("status", "reversed");
        Fixtures.writeJsonl(in, List.of(p, c, r));
        ReplayHarness.Output out = ReplayHarness.replay(in, rules, fx, tmp.resolve("out"));
        assertThat(out.alertKeys()).containsExactly(Fixtures.id("big") + " high_value v1");
        // Computed outside the job: Python uuid.uuid5(UUID("4ccaa009-66eb-5914-a594-2d4470c30f9b"),
        // "d861877d-a56b-3b4c-ab35-c8cbfdf65bb4:high_value"); Fixtures.id("big") is that transaction_id.
        assertThat(Fixtures.id("big")).isEqualTo("d861877d-a56b-3b4c-ab35-c8cbfdf65bb4");
        assertThat(out.alerts().get(0).get("alert_id").asText()).isEqualTo("fcf93983-3a67-57aa-a342-0f8b50adcd1a");
        assertThat(out.processed()).hasSize(3).allSatisfy(e -> assertThat(e.get("is_flagged").asBoolean()).isTrue());
        assertThat(out.processed().stream().map(e -> e.get("status").asText()))
                .containsExactly("pending", "completed", "reversed");
    }

    @Test
    void eventsBehindTheWatermarkAreProcessedNotDropped() throws Exception {
        Path in = tmp.resolve("in.jsonl");
        List<ObjectNode> recs = new ArrayList<>();
        recs.add(Fixtures.txn(Fixtures.id("now"), "2025-05-05T12:10:00.000Z", "ACL1", "5", "USD"));
        // Ten minutes behind the watermark: late, yet it counts for velocity and is emitted.
        for (int i = 0; i < 5; i++) {
            recs.add(Fixtures.txn(Fixtures.id("late" + i), "2025-05-05T12:00:0" + i + ".000Z", "ACL2", "5", "USD"));
        }
        Fixtures.writeJsonl(in, recs);
        ReplayHarness.Output out = ReplayHarness.replay(in, rules, fx, tmp.resolve("out"));
        assertThat(out.processed()).hasSize(6);
        assertThat(out.alertKeys()).containsExactly(Fixtures.id("late4") + " rapid_activity v1");
        assertThat(out.alerts().get(0).get("alert_id").asText()).isEqualTo("64efe8e5-aef8-5ccc-a2a4-8ae0613cbb4d");
    }

    /**
     * A random stream of bursts and country changes, replayed in event-time order and again with arrivals
     * shuffled within the 2 s out-of-orderness bound: the alerts must be the same.
     */
    @Test
    void outOfOrderWithinTheBoundGivesTheSameAlertsAsInOrder() throws Exception {
        Random rnd = new Random(42);
        String[] countries = {"US", "FR", "DE", "GB", "JP"};
        long t = Instant.parse("2025-05-06T00:00:00Z").toEpochMilli();
        List<ObjectNode> ordered = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            t += rnd.nextInt(400);
            String acct = "ACR" + rnd.nextInt(40);
            String country = rnd.nextInt(10) == 0 ? countries[rnd.nextInt(countries.length)] : "US";
            String amount = rnd.nextInt(50) == 0 ? "12000.00" : "25.00";
            ObjectNode n = Fixtures.txn(Fixtures.id("ooo" + i), Instant.ofEpochMilli(t).toString(), acct, amount, "USD");
            n.put("location_country", country);
            n.put("status", "completed");
            ordered.add(n);
            times.add(t);
        }
        // Shuffle: repeatedly swap neighbours less than 1 s apart, then check the bound holds.
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < ordered.size(); i++) {
            idx.add(i);
        }
        for (int pass = 0; pass < 3; pass++) {
            for (int i = 0; i + 1 < idx.size(); i++) {
                if (rnd.nextBoolean() && Math.abs(times.get(idx.get(i)) - times.get(idx.get(i + 1))) < 1000) {
                    int x = idx.get(i);
                    idx.set(i, idx.get(i + 1));
                    idx.set(i + 1, x);
                }
            }
        }
        List<ObjectNode> shuffled = new ArrayList<>();
        long max = Long.MIN_VALUE;
        int moved = 0;
        for (int k = 0; k < idx.size(); k++) {
            long ts = times.get(idx.get(k));
            if (max != Long.MIN_VALUE) {
                assertThat(ts).as("arrival %d stays within the 2 s bound", k).isGreaterThan(max - 2000);
            }
            if (ts < max) {
                moved++;
            }
            max = Math.max(max, ts);
            shuffled.add(ordered.get(idx.get(k)));
        }
        assertThat(moved).as("events that arrive after a later one").isGreaterThan(300);
        Fixtures.writeJsonl(tmp.resolve("ordered.jsonl"), ordered);
        Fixtures.writeJsonl(tmp.resolve("shuffled.jsonl"), shuffled);
        ReplayHarness.Output a = ReplayHarness.replay(tmp.resolve("ordered.jsonl"), rules, fx, tmp.resolve("a"));
        ReplayHarness.Output b = ReplayHarness.replay(tmp.resolve("shuffled.jsonl"), rules, fx, tmp.resolve("b"));
        assertThat(a.alertKeys()).hasSizeGreaterThan(50);
        assertThat(a.alerts().stream().map(x -> x.get("rule_name").asText()).distinct())
                .contains("rapid_activity", "unusual_location", "high_value");
        assertThat(b.alertKeys()).isEqualTo(a.alertKeys());

        // One engine subtask or two: each sees its accounts and the watermarks in file order.
        ReplayHarness.Output c = ReplayHarness.replay(tmp.resolve("shuffled.jsonl"), rules, fx, tmp.resolve("c"), 1);
        assertThat(c.alertKeys()).isEqualTo(b.alertKeys());
        assertThat(c.processed()).hasSameSizeAs(b.processed());
    }

    private static byte[] bytes(ObjectNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }
}
