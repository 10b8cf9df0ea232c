package io.finlake.flinkjob.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.finlake.flinkjob.Fixtures;
import io.finlake.flinkjob.model.RuleUpdate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The rule-language corpus of contract/testdata/rules, walked here and by Go's rules/corpus_test.go: the job's
 * parser must accept every valid file with exactly its canonical rules and reject every invalid file on the
 * field and with the check its first line names.
 */
class RuleCorpusTest {
    private static final Path CORPUS = Fixtures.repoRoot().resolve("contract/testdata/rules");
    private static final Pattern EXPECT = Pattern.compile("^# expect: (\\S+) (\\S+)\n");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> everyValidCorpusFileParsesToItsCanonicalRules() throws IOException {
        return files("valid").stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            List<String> got = new ArrayList<>();
            for (RuleUpdate u : RuleParser.fromYaml(f, null)) {
                got.add(canonical(RuleParser.parseRule(u.key, u.value)));
            }
            got.sort(null);
            Path sidecar = f.resolveSibling(f.getFileName().toString().replace(".yaml", ".canonical.jsonl"));
            List<String> want = Files.readAllLines(sidecar).stream().filter(l -> !l.isBlank()).toList();
            assertThat(got).containsExactlyElementsOf(want);
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyInvalidCorpusFileIsRejectedOnItsFieldWithItsCheck() throws IOException {
        return files("invalid").stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            Matcher m = EXPECT.matcher(Files.readString(f));
            assertThat(m.find()).as("first line `# expect: FIELD CHECK`").isTrue();
            RuleParser.InvalidRuleException e = catchThrowableOfType(
                    () -> RuleParser.fromYaml(f, null), RuleParser.InvalidRuleException.class);
            assertThat(e).as("rejected").isNotNull();
            assertThat(e.field() + " " + e.check()).as(e.getMessage()).isEqualTo(m.group(1) + " " + m.group(2));
        }));
    }

    private static List<Path> files(String sub) throws IOException {
        try (Stream<Path> s = Files.list(CORPUS.resolve(sub))) {
            List<Path> out = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            assertThat(out).as("corpus files in %s", CORPUS.resolve(sub)).isNotEmpty();
            return out;
        }
    }

    /** The corpus's normalized form of a rule (contract/testdata/rules/README.md). */
    private static String canonical(Rule r) throws IOException {
        String params = switch (r.type) {
            case Rule.THRESHOLD -> "{\"amount_usd\":\"" + r.amountUsd.stripTrailingZeros().toPlainString() + "\"}";
            case Rule.VELOCITY -> "{\"count\":" + r.count + ",\"window_ns\":" + r.windowNanos + "}";
            case Rule.TIME_OF_DAY -> "{\"start_minute\":" + r.startNanos / 60_000_000_000L + ",\"end_minute\":"
                    + r.endNanos / 60_000_000_000L + ",\"timezone\":" + JSON.writeValueAsString(r.timezone) + "}";
            case Rule.NEW_COUNTRY -> "{\"min_history\":" + r.minHistory + ",\"lookback_ns\":" + r.lookbackNanos + "}";
            default -> throw new IllegalStateException(r.type);
        };
        return "{\"rule_name\":" + JSON.writeValueAsString(r.name) + ",\"rule_type\":" + JSON.writeValueAsString(r.type)
                + ",\"severity\":" + JSON.writeValueAsString(r.severity) + ",\"enabled\":" + r.enabled
                + ",\"description\":" + JSON.writeValueAsString(r.description) + ",\"params\":" + params + "}";
    }
}
