package io.finlake.flinkjob.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * time_of_day computes the local time from the zone's offset at the instant instead of building a
 * ZonedDateTime: it must decide and describe exactly as java.time's own conversion does, in zones with
 * daylight saving (both transitions of 2026 included), with half-hour offsets, and before 1970.
 */
class TimeOfDayTest {
    @Test
    void decidesAndDescribesAsJavaTimeDoesInEveryKindOfZone() {
        SplittableRandom rnd = new SplittableRandom(12);
        List<Long> instants = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            instants.add(rnd.nextLong(-2_000_000_000_000_000_000L, 4_000_000_000_000_000_000L));
        }
        // Around the 2026 DST changes of Europe/Paris and America/New_York, every 7 minutes and 13 ns.
        for (Instant at : List.of(Instant.parse("2026-03-29T00:30:00Z"), Instant.parse("2026-10-25T00:30:00Z"),
                Instant.parse("2026-03-08T06:30:00Z"), Instant.parse("2026-11-01T05:30:00Z"))) {
            for (long k = 0; k < 40; k++) {
                instants.add(at.getEpochSecond() * 1_000_000_000L + k * 420_000_000_013L);
            }
        }
        int fired = 0;
        for (String zone : List.of("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Adelaide")) {
            for (String[] window : new String[][] {{"01:00", "05:00"}, {"22:30", "02:15"}}) {
                Rule r = rule(zone, window[0], window[1]);
                for (long ns : instants) {
                    String want = reference(r, ns);
                    assertThat(RuleEval.timeOfDay(r, ns)).as("%s %s at %d", zone, window[0], ns).isEqualTo(want);
                    fired += want == null ? 0 : 1;
                }
            }
        }
        assertThat(fired).as("instants inside a window").isGreaterThan(10_000);
    }

    /** The predicate and description written with java.time's ZonedDateTime. */
    private static String reference(Rule r, long ns) {
        LocalTime t = Instant.ofEpochSecond(Math.floorDiv(ns, 1_000_000_000L), Math.floorMod(ns, 1_000_000_000L))
                .atZone(ZoneId.of(r.timezone)).toLocalTime();
        long tod = t.toNanoOfDay();
        boolean inside = r.startNanos <= r.endNanos ? tod >= r.startNanos && tod < r.endNanos
                : tod >= r.startNanos || tod < r.endNanos;
        if (!inside) {
            return null;
        }
        return String.format("Transaction at %02d:%02d:%02d local time (%s) is inside the %s window [%s, %s)",
                t.getHour(), t.getMinute(), t.getSecond(), r.timezone, r.name, r.startText, r.endText);
    }

    private static Rule rule(String zone, String start, String end) {
        Rule r = new Rule();
        r.name = "quiet";
        r.type = Rule.TIME_OF_DAY;
        r.timezone = zone;
        r.startText = start;
        r.endText = end;
        r.startNanos = LocalTime.parse(start).toNanoOfDay();
        r.endNanos = LocalTime.parse(end).toNanoOfDay();
        return r;
    }
}
