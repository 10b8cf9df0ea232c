package io.finlake.flinkjob.engine;

/** Lifecycle of one transaction: the statuses seen so far, the current one, and whether it was flagged. */
public class TxState {
    public static final byte PENDING = 1;
    public static final byte COMPLETED = 2;
    public static final byte FAILED = 4;
    public static final byte REVERSED = 8;

    /** Bit set of every status seen (a repeat is a duplicate). */
    public byte seen;
    public byte status;
    public boolean flagged;
    /** The first event still waits for the watermark; later events are held back until it is decided. */
    public boolean awaiting;
    /** Processing time of the last event, for the lifecycle TTL. */
    public long touched;

    public TxState() {}

    public static byte bit(String status) {
        return switch (status) {
            case "pending" -> PENDING;
            case "completed" -> COMPLETED;
            case "failed" -> FAILED;
            case "reversed" -> REVERSED;
            default -> 0;
        };
    }

    public static String name(byte bit) {
        return switch (bit) {
            case PENDING -> "pending";
            case COMPLETED -> "completed";
            case FAILED -> "failed";
            case REVERSED -> "reversed";
            default -> "unknown";
        };
    }

    public static String names(byte bits) {
        StringBuilder b = new StringBuilder();
        for (byte s : new byte[] {PENDING, COMPLETED, FAILED, REVERSED}) {
            if ((bits & s) != 0) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append(name(s));
            }
        }
        return b.toString();
    }

    /** The only lifecycle moves: pending→completed, pending→failed, completed→reversed. */
    public static boolean allowed(byte from, byte to) {
        return (from == PENDING && (to == COMPLETED || to == FAILED)) || (from == COMPLETED && to == REVERSED);
    }

    public static String allowedAfter(byte from) {
        return switch (from) {
            case PENDING -> "completed or failed after pending";
            case COMPLETED -> "reversed after completed";
            default -> "no further status after " + name(from);
        };
    }
}
