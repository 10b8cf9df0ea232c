package io.finlake.flinkjob.rules;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;

/**
 * alert_id = UUID version 5 (RFC 9562, SHA-1) in the namespace {@link #NAMESPACE} of the name
 * {@code transaction_id + ":" + rule_name} (UTF-8), so a replay or a restart gives the same id.
 */
public final class AlertIds {
    /** uuid5(NAMESPACE_DNS, "alerts.finlake"): Python {@code uuid.uuid5(uuid.NAMESPACE_DNS, "alerts.finlake")}. */
    public static final UUID NAMESPACE = v5(UUID.fromString("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "alerts.finlake");

    /** SHA-1 with the alert namespace already hashed in: cloned per id, never updated itself. */
    private static final MessageDigest ALERTS = primed(NAMESPACE);

    private AlertIds() {}

    public static String alertId(String transactionId, String ruleName) {
        MessageDigest sha1;
        try {
            sha1 = (MessageDigest) ALERTS.clone();
        } catch (CloneNotSupportedException e) {
            sha1 = primed(NAMESPACE);
        }
        return uuid(sha1, transactionId + ":" + ruleName).toString();
    }

    public static UUID v5(UUID namespace, String name) {
        return uuid(primed(namespace), name);
    }

    private static MessageDigest primed(UUID namespace) {
        MessageDigest sha1;
        try {
            sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is part of every JRE", e);
        }
        ByteBuffer ns = ByteBuffer.allocate(16);
        ns.putLong(namespace.getMostSignificantBits()).putLong(namespace.getLeastSignificantBits());
        sha1.update(ns.array());
        return sha1;
    }

    private static UUID uuid(MessageDigest sha1, String name) {
        byte[] h = sha1.digest(name.getBytes(StandardCharsets.UTF_8));
        h[6] = (byte) ((h[6] & 0x0f) | 0x50);
        h[8] = (byte) ((h[8] & 0x3f) | 0x80);
        ByteBuffer b = ByteBuffer.wrap(h, 0, 16);
        return new UUID(b.getLong(), b.getLong());
    }
}
