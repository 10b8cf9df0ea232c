package io.finlake.flinkjob.engine;

import io.finlake.flinkjob.contract.AlertRecord;
import io.finlake.flinkjob.contract.EnrichedTransaction;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Outputs;
import io.finlake.flinkjob.model.RuleUpdate;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.model.WallClock;
import io.finlake.flinkjob.rules.FxTable;
import io.finlake.flinkjob.rules.Rule;
import io.finlake.flinkjob.rules.RuleEval;
import io.finlake.flinkjob.rules.RuleParser;
import io.finlake.flinkjob.rules.RuleSet;
import io.finlake.flinkjob.validate.DeadLetters;
import io.finlake.flinkjob.validate.Json;
import io.finlake.flinkjob.validate.Validator;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keyed by account_id, with the rules as broadcast state.
 *
 * <p>Per transaction (lifecycle state with a TTL): a repeated status is a duplicate, a move the lifecycle
 * forbids is invalid; both go to dead-letter. On a transaction's first valid event every enabled rule is
 * evaluated once, with the rules in force when the event is processed ("a changed rule applies to the
 * events processed after the change arrived"):
 *
 * <ul>
 *   <li>threshold and time_of_day depend on the event alone: decided at once;
 *   <li>velocity counts the account's transactions with event time in (t - W, t]; the count only grows as
 *       out-of-order events arrive, so it fires at once when already reached, else it is decided when the
 *       watermark passes t (an event-time timer), when every on-time event up to t is known;
 *   <li>new_country depends on which transactions are earlier in event time, so it is always decided at the
 *       watermark, in event-time order (ties by arrival).
 * </ul>
 *
 * An event at or behind the watermark is late: it is counted, decided at once against what is known, and
 * still joins the history. The enriched record of a first event (and any later event of the same
 * transaction that arrived meanwhile) is emitted once its flag is known.
 *
 * <p>All state expires by event time, whether or not the account sends again: a transaction's lifecycle
 * {@code lifecycleTtl} after its latest event, velocity times after the widest velocity window, countries
 * after the widest new_country lookback (rules in alert-rules, enabled or not), and the whole account once
 * none of these is left. One coalesced cleanup timer per account does it ({@link AccountState#nextCleanup}).
 */
public class Engine extends KeyedBroadcastProcessFunction<String, Txn, RuleUpdate, OutRecord> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    public static final MapStateDescriptor<String, String> RULES =
            new MapStateDescriptor<>("alert-rules", Types.STRING, Types.STRING);
    /** Broadcast-state key holding the next alert-rules offset applied for a partition. */
    static final String APPLIED = "__applied_offset_";

    private final List<RuleUpdate> initialRules;
    private final Map<Integer, Long> initialEnd;
    private final Duration lifecycleTtl;
    private final WallClock wallClock;

    private transient ValueState<AccountState> account;
    /** Per account: its event-time history ({@link AccountState}). */
    public static final ValueStateDescriptor<AccountState> ACCOUNT = new ValueStateDescriptor<>("account", AccountState.class);
    /** Per account: transaction_id → {@link TxState#pack}. */
    public static final MapStateDescriptor<String, Long> LIFECYCLE =
            new MapStateDescriptor<>("lifecycle", Types.STRING, Types.LONG);
    private transient MapState<String, Long> lifecycle;
    private transient RuleSet cached;
    private transient RuleSet initialSet;
    private transient Json.Writer json;
    private transient Metrics metrics;
    private transient Counter rulesRejected;


    /**
     * @param initialRules alert-rules as read up to {@code initialEnd} before the job started (or the YAML
     *     files in replay): in force from the first event, so no transaction is evaluated without rules
     * @param initialEnd per alert-rules partition, the offset after the last record in {@code initialRules}
     */
    public Engine(List<RuleUpdate> initialRules, Map<Integer, Long> initialEnd, Duration lifecycleTtl,
            WallClock wallClock) {
        this.initialRules = new ArrayList<>(initialRules);
        this.initialEnd = new HashMap<>(initialEnd);
        this.lifecycleTtl = lifecycleTtl;
        this.wallClock = wallClock;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        account = getRuntimeContext().getState(ACCOUNT);
        lifecycle = getRuntimeContext().getMapState(LIFECYCLE);
        json = new Json.Writer();
        metrics = new Metrics(getRuntimeContext().getMetricGroup().addGroup("finlake"));
        initialSet = RuleSet.fromRecords(fold(initialRules, null).entrySet());
        cached = null;
    }

    /**
     * The rules in force after {@code updates}, applied in order as the broadcast input applies them: a
     * record the job cannot parse leaves the previous version of its rule in force (it is handed to
     * {@code rejected}, if given), so a start from the topic and a run that saw the records arrive agree.
     */
    private static Map<String, String> fold(List<RuleUpdate> updates,
            java.util.function.BiConsumer<RuleUpdate, RuleParser.InvalidRuleException> rejected) {
        Map<String, String> init = new LinkedHashMap<>();
        for (RuleUpdate u : updates) {
            if (u.key == null || u.key.startsWith("__")) {
                continue;
            }
            if (u.value == null) {
                init.remove(u.key);
                continue;
            }
            try {
                check(u);
                init.put(u.key, u.value);
            } catch (RuleParser.InvalidRuleException e) {
                if (rejected != null) {
                    rejected.accept(u, e);
                }
            }
        }
        return init;
    }

    private static void check(RuleUpdate u) throws RuleParser.InvalidRuleException {
        if (RuleParser.FX_KEY.equals(u.key)) {
            RuleParser.parseFx(u.value);
        } else {
            RuleParser.parseRule(u.key, u.value);
        }
    }

    // ---- rules -------------------------------------------------------------------------------------

    private boolean stateIsCurrent(ReadOnlyBroadcastState<String, String> bs) throws Exception {
        for (Map.Entry<Integer, Long> e : initialEnd.entrySet()) {
            if (applied(bs, e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static long applied(ReadOnlyBroadcastState<String, String> bs, int partition) throws Exception {
        String v = bs.get(APPLIED + partition);
        return v == null ? 0 : Long.parseLong(v);
    }

    private RuleSet rules(ReadOnlyBroadcastState<String, String> bs) throws Exception {
        if (cached == null) {
            // Broadcast state older than the snapshot read at start (fresh start, or a checkpoint taken
            // before rules changed): the snapshot is newer, and the broadcast input will catch up to it.
            cached = stateIsCurrent(bs) ? RuleSet.fromRecords(bs.immutableEntries()) : initialSet;
        }
        return cached;
    }

    @Override
    public void processBroadcastElement(RuleUpdate u, Context ctx, Collector<OutRecord> out) throws Exception {
        BroadcastState<String, String> bs = ctx.getBroadcastState(RULES);
        if (!stateIsCurrent(bs)) {
            bs.clear();
            // Records before the job started were read at start, not through this input: the ones it
            // cannot apply are dead-lettered now, once per fresh broadcast state.
            for (Map.Entry<String, String> e : fold(initialRules, (r, ex) -> rejectRule(r, ex, ctx)).entrySet()) {
                bs.put(e.getKey(), e.getValue());
            }
            for (Map.Entry<Integer, Long> e : initialEnd.entrySet()) {
                bs.put(APPLIED + e.getKey(), Long.toString(e.getValue()));
            }
            cached = null;
        }
        if (u.offset < applied(bs, u.partition)) {
            return; // already part of the state
        }
        bs.put(APPLIED + u.partition, Long.toString(u.offset + 1));
        if (u.key == null || u.key.startsWith("__")) {
            return;
        }
        if (u.value == null) {
            bs.remove(u.key);
            LOG.info("rule deleted: {}", u.key);
        } else {
            try {
                if (RuleParser.FX_KEY.equals(u.key)) {
                    FxTable fx = RuleParser.parseFx(u.value);
                    LOG.info("FX table version {} applied: {}", fx.version(), fx.currencies());
                } else {
                    Rule r = RuleParser.parseRule(u.key, u.value);
                    LOG.info("rule {} version {} applied (enabled={})", r.name, r.version, r.enabled);
                }
                bs.put(u.key, u.value);
            } catch (RuleParser.InvalidRuleException e) {
                rejectRule(u, e, ctx);
            }
        }
        cached = null;
    }

    /**
     * A rule the job cannot apply is never skipped silently: logged, counted ({@code finlake.rules_rejected})
     * and dead-lettered with source topic alert-rules, once (by subtask 0: every subtask sees the broadcast).
     */
    private void rejectRule(RuleUpdate u, RuleParser.InvalidRuleException e, Context ctx) {
        LOG.warn("alert-rules record {} rejected, the previous version stays in force: {}", u.key, e.getMessage());
        if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() != 0) {
            return;
        }
        if (rulesRejected == null) {
            rulesRejected = metrics.group.counter("rules_rejected");
        }
        rulesRejected.inc();
        ctx.output(Outputs.DEAD_LETTERS, new OutRecord(u.key.getBytes(StandardCharsets.UTF_8),
                DeadLetters.write(json, List.of(e.detail()), null, u.value, RuleParser.TOPIC, u.partition, u.offset,
                        Long.MIN_VALUE, wallClock.getAsLong()),
                Long.MIN_VALUE));
    }

    // ---- transactions ------------------------------------------------------------------------------

    @Override
    public void processElement(Txn t, ReadOnlyContext ctx, Collector<OutRecord> out) throws Exception {
        // The broadcast state is looked up only when the rules changed (cached is reset then).
        RuleSet rs = cached != null ? cached : rules(ctx.getBroadcastState(RULES));
        List<ErrorDetail> errors = null; // allocated for the few records that have any
        BigDecimal usd = rs.fx().toUsdExact(t.amount, t.currency);
        BigDecimal amountUsd = null;
        if (usd == null) {
            errors = add(errors, new ErrorDetail("currency", "fx_rate",
                    "a currency of the FX table (" + (rs.fx().isEmpty() ? "no FX table loaded" : rs.fx().currencies()) + ")",
                    t.currency));
        } else {
            amountUsd = FxTable.round(usd);
            ErrorDetail usdRange = Validator.amountUsdError(amountUsd);
            if (usdRange != null) {
                errors = add(errors, usdRange);
            }
        }
        long now = wallClock.getAsLong();
        byte bit = TxState.bit(t.status);
        Long packed = lifecycle.get(t.transactionId);
        TxState st = live(packed, ctx.currentWatermark());
        if (st == null) {
            if (bit == TxState.REVERSED) {
                errors = add(errors, new ErrorDetail("status", "invalid_transition",
                        "pending, completed or failed as a transaction's first event", "reversed"));
            }
        } else if ((st.seen & bit) != 0) {
            errors = add(errors, new ErrorDetail("status", "duplicate",
                    "a status not seen before for this transaction (seen: " + TxState.names(st.seen) + ")", t.status));
            metrics.duplicates.inc();
        } else if (!TxState.allowed(st.status, bit)) {
            errors = add(errors, new ErrorDetail("status", "invalid_transition", TxState.allowedAfter(st.status),
                    TxState.name(st.status) + " -> " + t.status));
        }
        if (errors != null) {
            for (ErrorDetail e : errors) {
                metrics.invalid(e.rule).inc();
            }
            LOG.warn("dead letter: transaction {} from {}/{}@{} failed {}", t.transactionId, t.srcTopic,
                    t.srcPartition, t.srcOffset, DeadLetters.failedChecks(errors));
            ctx.output(Outputs.DEAD_LETTERS, new OutRecord(t.key,
                    DeadLetters.write(json, errors, null, t.raw, t.srcTopic, t.srcPartition, t.srcOffset,
                            t.srcTimestamp, now),
                    t.srcTimestamp));
            return;
        }
        t.amountUsd = amountUsd;
        if (st == null) {
            first(t, usd, bit, rs, ctx, out, now, packed != null);
            return;
        }
        st.seen |= bit;
        st.status = bit;
        // The TTL runs from the latest event; lifecycleDue stays a valid lower bound when it moves on.
        st.touched = Math.max(st.touched, t.eventMillis());
        if (st.awaiting) {
            AccountState a = account.value();
            Pending p = a == null ? null : a.findPending(t.transactionId);
            if (p != null) {
                if (p.followers == null) {
                    p.followers = new ArrayList<>(2);
                }
                p.followers.add(t);
                account.update(a);
                lifecycle.put(t.transactionId, st.pack());
                return;
            }
            st.awaiting = false; // its first event was decided: state from before a restore
        }
        lifecycle.put(t.transactionId, st.pack());
        emitProcessed(t, st.flagged, out, now);
    }

    private static List<ErrorDetail> add(List<ErrorDetail> errors, ErrorDetail e) {
        List<ErrorDetail> l = errors != null ? errors : new ArrayList<>(2);
        l.add(e);
        return l;
    }

    /**
     * The lifecycle entry, unless its TTL has passed in event time: an entry the cleanup timer has not
     * reached yet (it runs at bucket boundaries) must not decide differently from one it has removed.
     */
    private TxState live(Long packed, long watermark) {
        // A maximum watermark is end of input or every input idle, not time passing (see onTimer).
        if (packed == null || (!TxState.awaiting(packed) && watermark != Long.MAX_VALUE
                && TxState.expiresAt(packed, lifecycleTtl.toMillis()) <= watermark)) {
            return null;
        }
        return TxState.unpack(packed);
    }

    /** @param replacesExpired an entry past its TTL that the cleanup has not reached is overwritten */
    private void first(Txn t, BigDecimal usd, byte bit, RuleSet rs, ReadOnlyContext ctx, Collector<OutRecord> out,
            long now, boolean replacesExpired) throws Exception {
        AccountState a = account.value();
        if (a == null) {
            a = AccountState.fresh();
            metrics.accounts.inc();
        }
        metrics.transactions.inc();
        long seq = a.seq++;
        a.addTime(t.eventNanos);
        long wm = ctx.currentWatermark();
        boolean late = t.eventMillis() <= wm;
        if (late) {
            metrics.late.inc();
        }
        boolean flagged = false;
        List<Rule> deferred = null;
        for (Rule r : rs.enabled()) {
            String why = switch (r.type) {
                case Rule.THRESHOLD -> RuleEval.threshold(r, t.amount, t.currency, usd);
                case Rule.TIME_OF_DAY -> RuleEval.timeOfDay(r, t.eventNanos);
                case Rule.VELOCITY -> RuleEval.velocity(r, t.accountId,
                        a.countIn(t.eventNanos - r.windowNanos, t.eventNanos));
                case Rule.NEW_COUNTRY -> late ? newCountry(r, t, a) : null;
                default -> null;
            };
            if (why != null) {
                emitAlert(t, r, why, ctx, now);
                flagged = true;
            } else if (!late && r.needsEventTimeHistory()) {
                if (deferred == null) {
                    deferred = new ArrayList<>(2);
                }
                deferred.add(r);
            }
        }
        TxState st = new TxState();
        st.seen = bit;
        st.status = bit;
        st.flagged = flagged;
        st.touched = t.eventMillis();
        if (!replacesExpired) {
            a.lifecycleCount++;
        }
        a.lifecycleDue = Math.min(a.lifecycleDue, st.touched + lifecycleTtl.toMillis());
        if (late) {
            a.fold(t.eventNanos, t.locationCountry);
            emitProcessed(t, flagged, out, now);
        } else {
            Pending p = new Pending();
            p.eventNanos = t.eventNanos;
            p.seq = seq;
            p.transactionId = t.transactionId;
            p.country = t.locationCountry;
            if (deferred == null) {
                emitProcessed(t, flagged, out, now);
            } else {
                p.txn = t;
                p.deferred = deferred.toArray(new Rule[0]);
                p.flagged = flagged;
                st.awaiting = true;
            }
            a.addPending(p);
            ctx.timerService().registerEventTimeTimer(t.eventMillis());
        }
        lifecycle.put(t.transactionId, st.pack());
        scheduleCleanup(a, rs, ctx.timerService(), Long.MIN_VALUE);
        account.update(a);
    }

    /**
     * Keeps one cleanup timer per account at its next expiry. A timer already registered earlier stays (it
     * re-registers when it fires); one for a later time than needed is superseded, and fires as a no-op.
     */
    private void scheduleCleanup(AccountState a, RuleSet rs, TimerService timers, long notBefore) {
        long due = a.nextCleanup(rs.maxWindowNanos(), rs.maxLookbackNanos(), lifecycleTtl.toMillis());
        if (due == Long.MAX_VALUE) {
            return;
        }
        // Inside onTimer a timer at or before the one firing would fire again at once, without end.
        due = Math.max(due, notBefore);
        if (a.cleanupAt == 0 || due < a.cleanupAt) {
            timers.registerEventTimeTimer(due);
            a.cleanupAt = due;
        }
    }

    /** Drops the account's lifecycle entries whose TTL has passed at event time {@code wm}. */
    private void expireLifecycle(AccountState a, long wm) throws Exception {
        long ttl = lifecycleTtl.toMillis();
        long next = Long.MAX_VALUE;
        int left = 0;
        for (Iterator<Map.Entry<String, Long>> it = lifecycle.iterator(); it.hasNext(); ) {
            long v = it.next().getValue();
            long at = TxState.expiresAt(v, ttl);
            if (at <= wm && !TxState.awaiting(v)) {
                it.remove();
            } else {
                next = Math.min(next, Math.max(at, wm + 1));
                left++;
            }
        }
        a.lifecycleCount = left;
        a.lifecycleDue = next;
    }

    private static String newCountry(Rule r, Txn t, AccountState a) {
        return RuleEval.newCountry(r, t.accountId, t.locationCountry, t.eventNanos, a.history,
                a.countries.get(t.locationCountry));
    }

    /** Decides the pending transactions the watermark passed, then expires what it left behind. */
    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutRecord> out) throws Exception {
        AccountState a = account.value();
        if (a == null) {
            return; // a superseded cleanup timer of an account that has expired as a whole
        }
        if (timestamp >= a.cleanupAt) {
            a.cleanupAt = 0;
        }
        long now = wallClock.getAsLong();
        while (!a.pending.isEmpty() && Math.floorDiv(a.pending.get(0).eventNanos, 1_000_000L) <= timestamp) {
            Pending p = a.pending.remove(0);
            if (p.txn != null) {
                Txn t = p.txn;
                boolean flagged = p.flagged;
                for (Rule r : p.deferred) {
                    String why = Rule.VELOCITY.equals(r.type)
                            ? RuleEval.velocity(r, t.accountId, a.countIn(t.eventNanos - r.windowNanos, t.eventNanos))
                            : newCountry(r, t, a);
                    if (why != null) {
                        emitAlert(t, r, why, ctx, now);
                        flagged = true;
                    }
                }
                emitProcessed(t, flagged, out, now);
                if (p.followers != null) {
                    for (Txn f : p.followers) {
                        emitProcessed(f, flagged, out, now);
                    }
                }
                Long packed = lifecycle.get(p.transactionId);
                if (packed != null) {
                    TxState st = TxState.unpack(packed);
                    st.flagged = flagged;
                    st.awaiting = false;
                    lifecycle.put(p.transactionId, st.pack());
                }
            }
            a.fold(p.eventNanos, p.country);
        }
        if (ctx.timerService().currentWatermark() == Long.MAX_VALUE) {
            // End of input (replay), or every input idle with one of them at the maximum: no event time
            // has passed, so nothing expires.
            account.update(a);
            return;
        }
        RuleSet rs = cached != null ? cached : rules(ctx.getBroadcastState(RULES));
        long wmNanos = timestamp * 1_000_000L;
        a.dropTimesUpTo(wmNanos - rs.maxWindowNanos());
        a.dropCountriesUpTo(wmNanos - rs.maxLookbackNanos());
        if (timestamp >= a.lifecycleDue) {
            expireLifecycle(a, timestamp);
        }
        if (a.isEmpty()) {
            account.clear();
            metrics.expiredAccounts.inc();
            return;
        }
        scheduleCleanup(a, rs, ctx.timerService(), timestamp + 1);
        account.update(a);
    }

    private void emitAlert(Txn t, Rule r, String description, ReadOnlyContext ctx, long now) {
        metrics.alerts(r.name).inc();
        // Context to find the record again, no account id or description (they are personal data; the
        // alerts topic has them).
        LOG.info("alert: rule {} v{} ({}) on transaction {} from {}/{}@{}", r.name, r.version, r.severity,
                t.transactionId, t.srcTopic, t.srcPartition, t.srcOffset);
        ctx.output(Outputs.ALERTS, new OutRecord(t.transactionId.getBytes(StandardCharsets.UTF_8),
                AlertRecord.of(t, r, description, now).write(json), t.srcTimestamp));
    }

    private void emitProcessed(Txn t, boolean flagged, Collector<OutRecord> out, long now) {
        metrics.valid.inc();
        out.collect(new OutRecord(t.accountId.getBytes(StandardCharsets.UTF_8),
                EnrichedTransaction.of(t, flagged, now).write(json), t.srcTimestamp));
    }

    /** Counters under the operator's metric group "finlake". */
    static final class Metrics {
        final MetricGroup group;
        final Counter valid;
        final Counter duplicates;
        final Counter late;
        /** First events, and accounts whose state was created: with the expired ones, what state holds. */
        final Counter transactions;
        final Counter accounts;
        final Counter expiredAccounts;
        private final Map<String, Counter> invalid = new HashMap<>();
        private final Map<String, Counter> alerts = new HashMap<>();

        Metrics(MetricGroup group) {
            this.group = group;
            valid = group.counter("valid");
            duplicates = group.counter("duplicates");
            late = group.counter("late_events");
            transactions = group.counter("transactions");
            accounts = group.counter("accounts_created");
            expiredAccounts = group.counter("accounts_expired");
        }

        Counter invalid(String rule) {
            return invalid.computeIfAbsent(rule, r -> group.counter("invalid_" + r));
        }

        Counter alerts(String rule) {
            return alerts.computeIfAbsent(rule, r -> group.counter("alerts_" + r));
        }
    }
}
