/**
 * Where records come from and go to: Kafka (sources, exactly-once sinks, the alert-rules snapshot read at
 * start) for the streaming job, JSON Lines files for replay, and the event-time watermark strategy both share.
 */
package io.finlake.flinkjob.io;
