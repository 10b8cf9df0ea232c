package io.finlake.flinkjob.engine;

import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.rules.Rule;
import java.util.ArrayList;

/**
 * A transaction whose event time the watermark has not yet passed. It joins the account's history (for
 * later new_country checks) only then, in event-time order; while {@link #txn} is set its own
 * history-dependent rules are still to be evaluated, and its enriched record is held back.
 */
public class Pending {
    public long eventNanos;
    public long seq;
    public String transactionId;
    public String country;
    /** The first event, while its deferred rules are outstanding; null once decided. */
    public Txn txn;
    /** The rules (as they were when the event arrived) to evaluate at the watermark. */
    public Rule[] deferred;
    /** Later valid events of the same transaction, emitted once the first is decided. */
    public ArrayList<Txn> followers;
    public boolean flagged;

    public Pending() {}
}
