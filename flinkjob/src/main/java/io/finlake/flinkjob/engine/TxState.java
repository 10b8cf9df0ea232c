package io.finlake.flinkjob.engine;

/**
 * Lifecycle of one transaction: the statuses seen so far, the current one, and whether it was flagged. Kept
 * in state as one long ({@link #pack}): a lifecycle entry per live transaction is most of the job's state,
 * and a long is 8 bytes where the POJO serializer writes a null mask and a field per member.
 */
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
    /** Event time (epoch ms) of the latest event: the lifecycle TTL runs from it, in event time. */
    public long touched;

    public TxState() {}

    /** touched in the high 52 bits (signed, so pre-1970 times survive), the four small fields below. */
    public long pack() {
        return (touched << 12) | ((long) (seen & 0xF) << 8) | ((long) (status & 0xF) << 4)
                | (flagged ? 2 : 0) | (awaiting ? 1 : 0);
    }

    public static TxState unpack(long v) {
        TxState s = new TxState();
        s.touched = v >> 12;
        s.seen = (byte) ((v >>> 8) & 0xF);
        s.status = (byte) ((v >>> 4) & 0xF);
        s.flagged = (v & 2) != 0;
        s.awaiting = (v & 1) != 0;
        return s;
    }

    /** The event time at which this transaction's lifecycle may be dropped. */
    public static long expiresAt(long packed, long ttlMillis) {
        return (packed >> 12) + ttlMillis;
    }

    public static boolean awaiting(long packed) {
        return (packed & 1) != 0;
    }

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
