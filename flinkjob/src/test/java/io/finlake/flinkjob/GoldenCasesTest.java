package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * flinkjob/src/test/resources/rules/&lt;case&gt;/: input.jsonl replayed with the case's rules.yaml and fx_rates.yaml
 * must raise exactly the alerts of expected_alerts.jsonl, each once: compared as a sorted list of alert_id +
 * transaction_id + rule_name + rule_version. The expected alert_ids are literals computed outside the job
 * (Python's uuid.uuid5 with the contract's namespace and name transaction_id + ":" + rule_name).
 */
class GoldenCasesTest {
    @RegisterExtension
    static final MiniClusterExtension MINI = ReplayHarness.miniCluster();

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> everyGoldenCaseRaisesExactlyItsExpectedAlerts() throws IOException {
        Path root = Fixtures.repoRoot().resolve("flinkjob/src/test/resources/rules");
        List<Path> cases;
        try (Stream<Path> s = Files.list(root)) {
            cases = s.filter(p -> Files.isRegularFile(p.resolve("input.jsonl"))).sorted().toList();
        }
        assertThat(cases).as("golden cases under %s", root).isNotEmpty();
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
            ReplayHarness.Output out = ReplayHarness.replay(c.resolve("input.jsonl"), c.resolve("rules.yaml"),
                    c.resolve("fx_rates.yaml"), tmp.resolve(c.getFileName().toString()));
            assertThat(identities(out.alerts()))
                    .isEqualTo(identities(Fixtures.readJsonl(c.resolve("expected_alerts.jsonl"))));
            for (JsonNode a : out.alerts()) {
                assertThat(a.get("transaction").get("transaction_id").asText())
                        .isEqualTo(a.get("transaction_id").asText());
            }
        }));
    }

    private static List<String> identities(List<JsonNode> alerts) {
        List<String> out = new ArrayList<>();
        for (JsonNode a : alerts) {
            out.add(a.get("alert_id").asText() + " " + a.get("transaction_id").asText() + " "
                    + a.get("rule_name").asText() + " v" + a.get("rule_version").asLong());
        }
        out.sort(null);
        return out;
    }
}
