package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.finlake.flinkjob.rules.AlertIds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * flinkjob/src/test/resources/rules/&lt;case&gt;/: input.jsonl replayed with the case's rules.yaml and fx_rates.yaml must raise
 * exactly the alerts of expected_alerts.jsonl, compared on transaction_id + rule_name + rule_version.
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
            Set<String> expected = new TreeSet<>();
            for (JsonNode e : Fixtures.readJsonl(c.resolve("expected_alerts.jsonl"))) {
                expected.add(e.get("transaction_id").asText() + " " + e.get("rule_name").asText() + " v"
                        + e.get("rule_version").asLong());
            }
            assertThat(out.alertKeys()).isEqualTo(expected);
            for (JsonNode a : out.alerts()) {
                assertThat(a.get("alert_id").asText()).isEqualTo(
                        AlertIds.alertId(a.get("transaction_id").asText(), a.get("rule_name").asText()));
                assertThat(a.get("transaction").get("transaction_id").asText())
                        .isEqualTo(a.get("transaction_id").asText());
            }
        }));
    }
}
