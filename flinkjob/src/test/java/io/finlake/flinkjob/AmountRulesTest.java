package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.validate.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The validator's amount checks record by record: decimals per currency (ISO 4217) and the lake's range. */
class AmountRulesTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    private final Validator v = new Validator(() -> NOW, false);

    private List<String> errors(String amount, String currency) {
        String json = Fixtures.txn(Fixtures.id(amount + currency), "2026-11-26T11:00:00Z", "AC1", "1", currency)
                .toString().replace("\"amount\":1,", "\"amount\":" + amount + ",");
        Parsed p = v.parse(json.getBytes(StandardCharsets.UTF_8), null, "raw-transactions", 0, 0, NOW);
        return p.errors == null ? List.of() : Arrays.stream(p.errors).map(e -> e.field + ":" + e.rule).toList();
    }

    @Test
    void theMinorUnitsAreTheCurrencyTableOfTheDataDictionary() {
        assertThat(List.of(Validator.minorUnits("USD"), Validator.minorUnits("EUR"), Validator.minorUnits("GBP"),
                Validator.minorUnits("JPY"))).containsExactly(2, 2, 2, 0);
    }

    @Test
    void decimalsAreJudgedOnTheValueNotTheText() {
        assertThat(errors("10.500", "USD")).isEmpty();
        assertThat(errors("1000.0", "JPY")).isEmpty();
        assertThat(errors("1E+3", "JPY")).isEmpty();
        assertThat(errors("10.005", "USD")).containsExactly("amount:minor_units");
        assertThat(errors("1000.5", "JPY")).containsExactly("amount:minor_units");
        assertThat(errors("1.234", "BHD")).as("three decimals for the Bahraini dinar").isEmpty();
    }

    @Test
    void theLakesDecimal18x2BoundsTheAmountInclusive() {
        assertThat(errors("9999999999999999.99", "USD")).isEmpty();
        assertThat(errors("10000000000000000", "USD")).containsExactly("amount:range");
        assertThat(errors("1e400", "USD")).containsExactly("amount:range");
        assertThat(errors("10000000000000000.001", "USD")).containsExactly("amount:range", "amount:minor_units");
    }
}
