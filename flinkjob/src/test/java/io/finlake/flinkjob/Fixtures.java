package io.finlake.flinkjob;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Shared test helpers: the repository layout, JSON Lines, and transaction records. */
public final class Fixtures {
    public static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    private Fixtures() {}

    /** The repository root (the directory holding config/rules.yaml), found upward from the working dir. */
    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isRegularFile(p.resolve("config/rules.yaml")) && Files.isDirectory(p.resolve("flinkjob"))) {
                return p;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("run the tests from the finlake repository (no config/rules.yaml above "
                + Path.of("").toAbsolutePath() + ")");
    }

    public static List<JsonNode> readJsonl(Path file) {
        List<JsonNode> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public static void writeJsonl(Path file, List<?> records) {
        StringBuilder b = new StringBuilder();
        for (Object r : records) {
            b.append(r instanceof String s ? s : r.toString()).append('\n');
        }
        try {
            Files.writeString(file, b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A valid first event; change fields with {@link ObjectNode#put}. */
    public static ObjectNode txn(String id, String timestamp, String account, String amount, String currency) {
        ObjectNode n = JSON.createObjectNode();
        n.put("transaction_id", id);
        n.put("timestamp", timestamp);
        n.put("account_id", account);
        n.put("amount", new java.math.BigDecimal(amount));
        n.put("currency", currency);
        n.put("merchant_name", "Test Merchant");
        n.put("merchant_category", "retail");
        n.put("transaction_type", "purchase");
        n.put("location_country", "US");
        n.put("status", "pending");
        return n;
    }

    public static String id(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
    }
}
