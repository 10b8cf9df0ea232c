package io.finlake.flinkjob;

import io.finlake.flinkjob.rules.RuleParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: parses the command line and runs the streaming job (default) or a bounded replay of a file
 * (--replay). Exit status 2 for a usage or rules error, 1 when Kafka does not answer.
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("finlake-flinkjob: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (o.help) {
            System.out.print(Options.USAGE);
            return;
        }
        try {
            if (o.replay != null) {
                ReplayJob.Summary s = ReplayJob.run(o.replay, o.rules, o.fx, o.out, o.outOfOrderness, o.stateTtl,
                        o.parallelism);
                System.out.println(s.toJson());
            } else {
                StreamingJob.run(o);
            }
        } catch (RuleParser.InvalidRuleException | IllegalArgumentException e) {
            System.err.println("finlake-flinkjob: " + e.getMessage());
            System.exit(2);
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            LOG.error("Kafka at {} did not answer: {} (is the broker up? `lakectl kafka run`, then `lakectl topics create`)",
                    o.bootstrap, e.getMessage());
            System.exit(1);
        }
    }
}
