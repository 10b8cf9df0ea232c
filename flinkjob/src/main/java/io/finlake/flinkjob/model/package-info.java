/**
 * The records that flow between the job's operators: a parsed raw record, a valid transaction, a rule
 * update from alert-rules, and an output record ready for a Kafka topic or a replay file. All are Flink
 * POJOs (public fields, no-arg constructor) so Flink serializes them without Kryo.
 */
package io.finlake.flinkjob.model;
