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

    /**
     * Puts raw records out of order within an out-of-orderness bound: walks the list once and swaps
     * disjoint neighbour pairs (at random, half of the eligible ones) whose timestamps are less than
     * {@code withinMillis} apart and that are not events of one transaction. A record therefore arrives at
     * most one place off, behind its partner by less than {@code withinMillis}; records without a readable
     * timestamp stay where they are. Returns the number of pairs swapped.
     */
    public static int swapNeighbours(List<byte[]> lines, long withinMillis, java.util.Random rnd) {
        int swapped = 0;
        for (int i = 0; i + 1 < lines.size(); i++) {
            JsonNode a = tryJson(lines.get(i));
            JsonNode b = tryJson(lines.get(i + 1));
            long ta = millis(a);
            long tb = millis(b);
            if (ta == Long.MIN_VALUE || tb == Long.MIN_VALUE || Math.abs(ta - tb) >= withinMillis
                    || a.path("transaction_id").equals(b.path("transaction_id")) || !rnd.nextBoolean()) {
                continue;
            }
            byte[] x = lines.get(i);
            lines.set(i, lines.get(i + 1));
            lines.set(i + 1, x);
            swapped++;
            i++; // disjoint pairs: the swapped record moves one place at most
        }
        return swapped;
    }

    private static JsonNode tryJson(byte[] b) {
        try {
            JsonNode n = JSON.readTree(b);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static long millis(JsonNode n) {
        if (n == null || !n.path("timestamp").isTextual()) {
            return Long.MIN_VALUE;
        }
        try {
            return java.time.OffsetDateTime.parse(n.get("timestamp").asText()).toInstant().toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            return Long.MIN_VALUE;
        }
    }

    public static String id(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
    }
}
