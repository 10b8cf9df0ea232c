package io.finlake.flinkjob.contract;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.finlake.flinkjob.validate.Json;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The records written by hand are byte for byte what Jackson writes, for strings and decimals of every kind
 * (the hand-written path takes plain ASCII and hands everything else to Jackson).
 */
class HandWrittenJsonTest {
    static Stream<String> strings() {
        return Stream.of("H&M", "", " ", "a\"b", "back\\slash", "tab\there", "new\nline", "\u0001", "del\u007f",
                "/slash", "Café", "Zürich \ud83d\ude00", "<script>", "'single'", "~}{|");
    }

    static Stream<String> decimals() {
        return Stream.of("125.40", "-7097", "0", "0.00", "1E+3", "1E-7", "9999999999999999.99", "-0.10",
                "123456789012345678901234567890.12");
    }

    private static EnrichedTransaction enriched(String s, BigDecimal amount) {
        return new EnrichedTransaction("0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10", "2026-11-26T01:02:03.456Z",
                "AC0001234", amount, "EUR", s, "dining", "purchase", "FR", "pending", amount.negate(),
                "2026-11-26T12:00:00.000Z", "2026-11-26", s.length() % 2 == 0);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @MethodSource("strings")
    void enrichedWithAnyMerchantNameIsWhatJacksonWrites(String merchant) {
        EnrichedTransaction e = enriched(merchant, new BigDecimal("125.40"));
        Json.Writer w = new Json.Writer();
        assertThat(text(e.write(w))).isEqualTo(text(e.writeWithJackson(new Json.Writer())));
    }

    @ParameterizedTest
    @MethodSource("decimals")
    void enrichedWithAnyAmountIsWhatJacksonWrites(String amount) {
        EnrichedTransaction e = enriched("Kroger", new BigDecimal(amount));
        assertThat(text(e.write(new Json.Writer()))).isEqualTo(text(e.writeWithJackson(new Json.Writer())));
    }

    static Stream<String> originals() {
        return Stream.concat(strings().map(s -> new String(JsonStringEncoder.getInstance().quoteAsUTF8(s),
                StandardCharsets.UTF_8)).map(q -> "{\"merchant_name\":\"" + q + "\",\"amount\":1.50}"), Stream.of("  {\"a\":1}  ", "{\"a\":\n1}", "{\"a\":\r\n1}", "\t{\"a\":\"\u00e9\"}"));
    }

    @ParameterizedTest
    @MethodSource("originals")
    void alertWithAnyDescriptionAndOriginalIsWhatJacksonWrites(String original) {
        for (String description : strings().toList()) {
            AlertRecord a = new AlertRecord("6ba7b810-9dad-51d1-80b4-00c04fd430c8",
                    "0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10", "AC0001234", "big_amount", "threshold", 3, "high",
                    "2026-11-26T12:00:00.000Z", description, original);
            assertThat(text(a.write(new Json.Writer()))).as(description)
                    .isEqualTo(text(a.writeWithJackson(new Json.Writer())));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"H&M", "", "~}{|", "2026-11-26T12:00:00.000Z"})
    void plainAsciiIsWrittenByHand(String s) {
        assertThat(new Json.Writer().fast().string(s)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\"b", "back\\slash", "tab\there", "del\u007f", "Café"})
    void anythingToEscapeOrBeyondAsciiIsLeftToJackson(String s) {
        assertThat(new Json.Writer().fast().string(s)).isFalse();
    }
}
